// A corrupt, truncated or foreign state.json through the built CLI: run and cleanup fail with one line naming the file
// and the field (no stack trace), and gc says so and removes it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, plain } from './world.js';
import { sampleState } from '../state/state-fixture.js';
import { MINIMAL_CONFIG } from '../harness/roles.js';

const CASES = [
  { name: 'a wrong type', text: JSON.stringify({ ...sampleState('31-0123456789ab'), secrets: 'all' }), says: /field "secrets" is string, expected a list/ },
  {
    name: 'a missing field',
    text: JSON.stringify({ ...sampleState('32-0123456789ab'), job: { id: 32 } }),
    says: /field "job\.projectId" is undefined, expected a whole number/,
  },
  { name: 'truncated', text: JSON.stringify(sampleState('33-0123456789ab')).slice(0, 70), says: /it is not JSON/ },
  { name: 'foreign JSON', text: '{"name":"left-pad","version":"1.3.0"}', says: /field "version" is "1\.3\.0", expected 1/ },
];

describe('a corrupt state.json is one clear line naming the file, never a crash', () => {
  let dir: string;
  let configPath: string;
  let state: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jobrole-corrupt-'));
    state = join(dir, 'state');
    configPath = join(dir, 'config.toml');
    await writeFile(configPath, MINIMAL_CONFIG.replaceAll('STATE', state));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const cli = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [CLI, '--config', configPath, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BUILD_FAILURE_EXIT_CODE: '1', SYSTEM_FAILURE_EXIT_CODE: '2', ...env },
      encoding: 'utf8',
      cwd: dir,
    });
    return { ...r, stderr: plain(r.stderr), stdout: plain(r.stdout) };
  };

  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const key = `${31 + i}-0123456789ab`;
      const jobDir = join(state, 'jobs', key);
      await mkdir(jobDir, { recursive: true, mode: 0o700 });
      const file = join(jobDir, 'state.json');
      await writeFile(file, c.text, { mode: 0o600 });
      const script = join(dir, 'script.sh');
      await writeFile(script, 'echo should-not-run\n');

      for (const stage of [['run', script, 'build_script'], ['cleanup']]) {
        const r = cli(stage, { JOBROLE_JOB_DIR: jobDir });
        assert.equal(r.status, 2, `${stage[0]}: ${r.stderr}`);
        assert.ok(r.stderr.includes(`the job state file ${file} is corrupt or not a jobrole job state`), `${stage[0]}: ${r.stderr}`);
        assert.match(r.stderr, c.says);
        assert.match(r.stderr, /"jobrole gc" removes unreadable job states/);
        assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
        assert.ok(!r.stdout.includes('should-not-run'), 'the script did not run');
        assert.ok(existsSync(file), `${stage[0]} left the file for the operator to inspect`);
      }

      const gc = cli(['gc']);
      assert.equal(gc.status, 0, gc.stderr);
      assert.match(gc.stderr + gc.stdout, new RegExp(`job state ${key} is unreadable \\(the job state file .*${c.says.source.replace(/^field /, '')}`));
      assert.ok(!existsSync(jobDir), 'gc removed the unreadable job state');
    });
  });
});
