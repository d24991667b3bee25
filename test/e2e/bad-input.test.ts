// Bad input gets one clear line and the right exit code, never a stack trace: config, response file, variables, env.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildJobResponse } from '../harness/runner.js';
import { CLI, plain } from './world.js';
import { MINIMAL_CONFIG } from '../harness/roles.js';

interface Case {
  name: string;
  stage: string[];
  config?: string;
  env?: Record<string, string>;
  response?: string | null;
  exit: number;
  says: RegExp;
}

const CASES: Case[] = [
  { name: 'malformed TOML', stage: ['config'], config: '[driver\nstate_dir = 1', exit: 2, says: /not valid TOML at line 1, column \d+/ },
  {
    name: 'role ARN that is not an ARN',
    stage: ['config'],
    config: MINIMAL_CONFIG.replace('arn:aws:iam::111122223333:role/r', 'deploy-role'),
    exit: 2,
    says: /\[\[roles\]\] "r"\.arn = "deploy-role": expected an IAM role ARN such as/,
  },
  {
    name: 'unknown strategy',
    stage: ['config'],
    config: `${MINIMAL_CONFIG}strategy = "magic"\n`,
    exit: 2,
    says: /\[\[roles\]\] "r"\.strategy = "magic": expected one of "assume-role", "web-identity", "instance-profile"/,
  },
  {
    name: 'unknown key',
    stage: ['config'],
    config: MINIMAL_CONFIG.replace('[job]', '[job]\ndeliverey = "env"'),
    exit: 2,
    says: /\[job\]\.deliverey: unknown key \(known keys in \[job\]: role_variable/,
  },
  { name: 'unknown section', stage: ['config'], config: MINIMAL_CONFIG.replace('[job]', '[driver2]'), exit: 2, says: /\[driver2\]: unknown section or key/ },
  {
    name: 'a value of the wrong type',
    stage: ['config'],
    config: MINIMAL_CONFIG.replace('[job]', 'slots = "four"\n[job]'),
    exit: 2,
    says: /\[driver\]\.slots = "four": expected a whole number from 1 to 64/,
  },
  {
    name: 'an ID-token condition without ID-token verification',
    stage: ['config'],
    config: `${MINIMAL_CONFIG}  [roles.allow]\n  environments = ["production"]\n`,
    exit: 2,
    says: /allow\.environments: needs a verified GitLab ID token, but ID-token verification is not configured/,
  },
  {
    name: 'missing config file',
    stage: ['config'],
    config: '',
    exit: 2,
    says: /config .*nope\.toml does not exist: pass --config <path>, set JOBROLE_CONFIG, or create \/etc\/jobrole\/config\.toml/,
  },
  {
    name: 'missing JOB_RESPONSE_FILE',
    stage: ['config'],
    response: null,
    exit: 2,
    says: /JOB_RESPONSE_FILE is not set: jobrole stages must be started by gitlab-runner/,
  },
  {
    name: 'truncated JOB_RESPONSE_FILE',
    stage: ['config'],
    response: JSON.stringify(buildJobResponse({ jobId: 7 })).slice(0, 60),
    exit: 2,
    says: /job response file .* is not valid JSON \(60 bytes; truncated\?\)/,
  },
  { name: 'response file without the job id', stage: ['config'], response: '{"job_info":{}}', exit: 2, says: /lacks id, job_info\.project_id/ },
  {
    name: 'missing BUILD_FAILURE_EXIT_CODE',
    stage: ['config'],
    env: { BUILD_FAILURE_EXIT_CODE: '' },
    exit: 2,
    says: /BUILD_FAILURE_EXIT_CODE is not set: "jobrole config" must be started by gitlab-runner's custom executor/,
  },
  {
    name: 'run stage without job state',
    stage: ['run', '/nonexistent/script', 'build_script'],
    exit: 2,
    says: /JOBROLE_JOB_DIR is not set: the config stage's job_env did not reach the run stage/,
  },
  {
    name: 'tampered JOBROLE_JOB_DIR',
    stage: ['cleanup'],
    env: { JOBROLE_JOB_DIR: '/etc/../root' },
    exit: 2,
    says: /JOBROLE_JOB_DIR="\/etc\/..\/root" is not a jobrole job directory/,
  },
  { name: 'unknown command', stage: ['frobnicate'], exit: 2, says: /Unknown argument: frobnicate|Unknown command/ },
];

describe('bad input: one line, the right exit code', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jobrole-bad-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const table: string[] = [];
  after(() => {
    process.stdout.write(`\n${table.join('\n')}\n`);
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const state = join(dir, c.name.replace(/\W+/g, '-'));
      const configPath = c.config === '' ? join(dir, 'nope.toml') : join(state + '.toml');
      if (c.config !== '') await writeFile(configPath, (c.config ?? MINIMAL_CONFIG).replaceAll('STATE', state));
      const responsePath = join(state + '.response.json');
      if (c.response !== null) await writeFile(responsePath, c.response ?? JSON.stringify(buildJobResponse({ jobId: 7 })));
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        BUILD_FAILURE_EXIT_CODE: '1',
        SYSTEM_FAILURE_EXIT_CODE: '2',
        ...(c.response !== null ? { JOB_RESPONSE_FILE: responsePath } : {}),
        ...c.env,
      };
      for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
      const r = spawnSync(process.execPath, [CLI, '--config', configPath, ...c.stage], { env, encoding: 'utf8', cwd: dir });
      const stderr = plain(r.stderr);
      table.push(`| ${c.name} | exit ${r.status} | ${stderr.trim().split('\n').pop()?.slice(0, 160)} |`);
      assert.equal(r.status, c.exit, stderr);
      assert.match(stderr, c.says);
      assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
      if (c.stage[0] === 'config') assert.equal(r.stdout, '', 'config prints nothing but JSON on stdout, and no JSON on failure');
    });
  }
});

describe("bad role requests are the job author's fault (build failure)", () => {
  for (const [name, value, says] of [
    ['a 10 KB JOBROLE_ROLE', 'x'.repeat(10240), /JOBROLE_ROLE is 10240 characters long: "x{40}"\.\.\. \(10240 characters\)/],
    ['control characters in JOBROLE_ROLE', 'deploy\u001b[2J\nprod', /JOBROLE_ROLE contains control characters: "deploy\?\[2J\?prod"/],
  ] as const) {
    test(name, async () => {
      const { startWorld } = await import('./world.js');
      const world = await startWorld({ roles: '[[roles]]\nname = "r"\narn = "arn:aws:iam::111122223333:role/r"\n' });
      try {
        const r = await world.job({ response: buildJobResponse({ jobId: 8 }), variables: { JOBROLE_ROLE: value }, steps: { script: ['true'] } });
        assert.equal(r.status, 'failed');
        assert.equal(r.prepareAttempts, 1);
        assert.match(plain(r.jobLog), says);
        assert.ok(!r.jobLog.includes('\u001b[2J'), 'the control sequence is not echoed raw');
      } finally {
        await world.close();
      }
    });
  }
});
