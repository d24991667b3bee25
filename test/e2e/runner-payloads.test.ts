// End to end over real runner payloads (14.1 … 19.0) and every pipeline kind: explain's verdicts and real jobs agree with GitLab's facts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PIPELINE_KINDS,
  RUNNER_GENERATIONS,
  gitlabTokenClaims,
  pipelineCase,
  runnerPayload,
  type GitlabTokenVersion,
  type PipelineKind,
  type RunnerGeneration,
} from '../harness/runner-payloads.js';
import { A, R, ROLES, ROLE_NAMES, expected, parseVerdicts, role, sendsProtected, v, type RoleName } from '../harness/pipeline-verdicts.js';
import { startWorld, type World } from './world.js';
import { AUDIENCE, assertRefusedInPrepare, oidcHost, sdkCallerIdentityStep, startIdTokenWorld } from './id-token-helpers.js';

describe('real runner payloads × pipeline kinds', () => {
  let world: World;
  let nextJob = 7100;
  before(async () => {
    world = await startIdTokenWorld({ delivery: 'env', roles: ROLES });
    for (const name of ROLE_NAMES) world.emu.addRole({ arn: world.roleArn(name), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(() => world.close());

  async function explainCase(kind: PipelineKind, gen: RunnerGeneration, token: boolean, version: GitlabTokenVersion = '18.3') {
    const c = pipelineCase(kind, { jobId: nextJob++ });
    const file = join(world.dir, `response-${kind}-${gen}-${c.jobId}.json`);
    await writeFile(file, JSON.stringify(runnerPayload(gen, c)));
    const args = ['explain', '--response', file, '--var', 'JOBROLE_ROLE=project'];
    let raw: string | undefined;
    if (token) {
      raw = await world.emu.oidc.mintToken(gitlabTokenClaims(c, AUDIENCE, oidcHost(world.emu), version));
      args.push('--id-token', raw);
    }
    const r = await world.cliAsync(args);
    if (raw !== undefined) assert.ok(!`${r.stdout}${r.stderr}`.includes(raw.split('.')[2] ?? raw), 'explain never echoes the token');
    return { c, r, text: r.stdout };
  }

  for (const token of [true, false]) {
    test(`explain decides every pipeline kind on every runner generation ${token ? 'with' : 'without'} an ID token`, async () => {
      for (const kind of PIPELINE_KINDS) {
        for (const gen of RUNNER_GENERATIONS) {
          const { text, r } = await explainCase(kind, gen, token);
          assert.doesNotMatch(r.stderr, /internal error/, r.stderr);
          assert.deepEqual(parseVerdicts(text), expected(kind, gen, token), `${kind} on gitlab-runner ${gen} ${token ? 'with' : 'without'} token:\n${text}`);
        }
      }
    });
  }

  test('explain shows the facts and where each came from, per runner generation', async () => {
    const first = await explainCase('detached-mr', '14.1', true);
    const old = first.text;
    // Config validation names the role that grants on a condition the job author chooses (MR pipelines: anyone's MR).
    assert.match(
      first.r.stderr,
      /^jobrole: warning: \[\[roles\]\] "mr" grants on allow\.pipeline_sources, which whoever writes \.gitlab-ci\.yml or triggers the pipeline chooses/m,
    );
    assert.equal(first.r.stderr.split('\n').filter((l) => l.includes('warning')).length, 1, first.r.stderr);
    assert.match(old, /response file +written by gitlab-runner 14\.1-18\.2/);
    assert.match(old, /project +"acme\/app" +\[response-file git_info\.repo_url\]/);
    assert.match(old, /pipeline id +\(not sent\) +\[response-file: job_info\.pipeline_id needs gitlab-runner >= 19\.0\]/);
    assert.match(old, /kind +merge request !7 \(detached\) \[response-file git_info\.ref\]; refs\/ref_types rules never grant it/);
    assert.match(old, /source branch +"main" \[id-token ref\] \(named by whoever opened the merge request\)/);
    assert.match(old, /binding +token and response file are matched on job id, project, sha and pipeline source, not on ref/);
    assert.match(old, /protected +false \[id-token ref_protected\]/);
    assert.match(old, /FAILED refs: a merge-request pipeline .* is never allowed by a refs rule/);
    const mid = (await explainCase('merged-results', '18.3', false)).text;
    assert.match(mid, /written by gitlab-runner 18\.3-18\.4/);
    assert.match(mid, /kind +merge request !7 \(merged results\)/);
    assert.match(mid, /protected +false +\[response-file git_info\.protected\]/);
    const now = (await explainCase('branch', '19.0', false)).text;
    assert.match(now, /written by gitlab-runner >= 19\.0/);
    assert.match(now, /project +"acme\/app" +\[response-file job_info\.project_full_path\]/);
    assert.match(now, /pipeline id +801 +\[response-file job_info\.pipeline_id\]/);
    assert.match(now, /protected +true +\[response-file git_info\.protected\]/);
    const fork = (await explainCase('fork-mr-in-parent', '18.5', true)).text;
    assert.match(fork, /fork +the ID token's project_path "mallory\/app" is the merge request's source project/);
    assert.match(
      fork,
      /FAILED projects: project "acme\/app" \(ID token: project_path "mallory\/app", job_project_path "acme\/app"\) does not match "acme\/app"/,
    );
    const noProt = (await explainCase('branch', '16.11', false)).text;
    assert.match(noProt, /FAILED protected: needs an ID token or gitlab-runner >= 18\.3/);
  });

  test('explain --id-token with a mangled token or a missing file: a user error that never echoes the value', async () => {
    const c = pipelineCase('branch', { jobId: nextJob++ });
    const file = join(world.dir, `response-bad-token-${c.jobId}.json`);
    await writeFile(file, JSON.stringify(runnerPayload('19.0', c)));
    const good = await world.emu.oidc.mintToken(gitlabTokenClaims(c, AUDIENCE, oidcHost(world.emu)));
    const mangled = `${good.slice(0, 300)} ${good.slice(300)}`;
    for (const arg of [mangled, join(world.dir, 'no-such-token-file')]) {
      const r = await world.cliAsync(['explain', '--response', file, '--id-token', arg]);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /--id-token: /);
      assert.doesNotMatch(r.stderr, /internal error|ENAMETOOLONG/);
      assert.ok(!r.stderr.includes(good.slice(20, 60)) && !r.stdout.includes(good.slice(20, 60)), 'no part of the token is echoed');
    }
  });

  test('ID tokens of older GitLab versions for a fork MR run in the parent', async () => {
    // <= 18.2.1: project_path is the parent; GitLab says the ref is not protected and it is an MR pipeline.
    assert.deepEqual(parseVerdicts((await explainCase('fork-mr-in-parent', '18.3', true, '18.2.1')).text), v(R, R, A, A));
    // 18.2.2: project_path is the fork and there is no job_project_path: token and job disagree, everything refused.
    const mid = await explainCase('fork-mr-in-parent', '18.3', true, '18.2.2');
    assert.deepEqual(parseVerdicts(mid.text), v(R, R, R, R));
    assert.match(mid.text, /DOES NOT MATCH the response file: the ID token is for project "mallory\/app" \(project_path\) but this job runs in "acme\/app"/);
  });

  /** One real job through the runner harness: config, prepare, run (the JS SDK calls STS), cleanup. */
  async function runCase(kind: PipelineKind, gen: RunnerGeneration, roleName: RoleName, token: boolean) {
    const c = pipelineCase(kind, { jobId: nextJob++ });
    const raw = token ? await world.emu.oidc.mintToken(gitlabTokenClaims(c, AUDIENCE, oidcHost(world.emu))) : undefined;
    const r = await world.job({
      response: runnerPayload(gen, c, {
        steps: { script: [sdkCallerIdentityStep()] },
        variables: { JOBROLE_ROLE: roleName, AWS_ENDPOINT_URL_STS: world.emu.endpoint, ...(raw !== undefined ? { JOBROLE_ID_TOKEN: raw } : {}) },
      }),
      steps: { script: [sdkCallerIdentityStep()] },
    });
    return { c, r };
  }

  const JOBS: Array<[PipelineKind, RunnerGeneration, RoleName, boolean]> = [
    ['branch', '19.0', 'main', true],
    ['branch', '14.1', 'protected', false],
    ['branch', '18.3', 'protected', false],
    ['tag', '16.11', 'protected', true],
    ['tag', '18.5', 'main', true],
    ['detached-mr', '19.0', 'main', true],
    ['detached-mr', '19.0', 'mr', true],
    ['detached-mr', '18.3', 'protected', true],
    ['merged-results', '18.5', 'mr', true],
    ['merged-results', '14.1', 'main', false],
    ['fork-mr-in-fork', '19.0', 'main', true],
    ['fork-mr-in-fork', '18.3', 'protected', false],
    ['fork-mr-in-parent', '19.0', 'mr', true],
    ['fork-mr-in-parent', '16.11', 'protected', true],
  ];
  for (const [kind, gen, roleName, token] of JOBS) {
    const want = expected(kind, gen, token)[roleName];
    test(`a ${kind} job on gitlab-runner ${gen} ${token ? 'with' : 'without'} a token asking for "${roleName}": ${want === 'allow' ? 'granted' : 'refused'}`, async () => {
      const { c, r } = await runCase(kind, gen, roleName, token);
      const decision = (await world.audit()).find((e) => e.event === 'decision' && e.job_id === c.jobId);
      if (want === 'allow') {
        assert.equal(r.status, 'success', r.jobLog);
        assert.match(r.jobLog, new RegExp(`^sdk arn:aws:sts::111122223333:assumed-role/${roleName}/`, 'm'));
        assert.equal(decision?.outcome, 'allow');
      } else {
        assertRefusedInPrepare(r);
        assert.equal(decision?.outcome, 'deny');
        if (c.mrIid !== undefined && roleName === 'main' && c.ref.startsWith('refs/'))
          assert.match(r.jobLog, /refs: a merge-request pipeline .* is never allowed by a refs rule/);
        if (roleName === 'protected' && !token && !sendsProtected(gen)) assert.match(r.jobLog, /needs an ID token or gitlab-runner >= 18\.3/);
      }
      assert.equal(decision?.project, c.project.path);
    });
  }

  test("no made-up pipeline id: runner 14.1 without a token has none in the audit log or the session tags; 19.0 has GitLab's", async () => {
    const old = await runCase('branch', '14.1', 'main', false);
    assert.equal(old.r.status, 'success', old.r.jobLog);
    const oldEvents = (await world.audit()).filter((e) => e.job_id === old.c.jobId);
    assert.ok(oldEvents.length >= 3, JSON.stringify(oldEvents));
    for (const e of oldEvents) {
      for (const k of ['pipeline_id', 'namespace_id', 'root_namespace_id', 'user_id'])
        assert.ok(!(k in e), `audit ${String(e.event)} has ${k} ${String(e[k])}`);
    }
    const oldSession = world.emu.sessions.find((s) => s.tags['gitlab:job_id'] === String(old.c.jobId));
    assert.ok(oldSession, 'the session carries the job id tag');
    assert.equal(oldSession.tags['gitlab:pipeline_id'], undefined, 'no pipeline_id tag without a pipeline id from GitLab');
    const now = await runCase('branch', '19.0', 'main', false);
    assert.equal(now.r.status, 'success', now.r.jobLog);
    assert.ok((await world.audit()).filter((e) => e.job_id === now.c.jobId).every((e) => e.pipeline_id === 801));
    const nowDecision = (await world.audit()).find((e) => e.job_id === now.c.jobId && e.event === 'decision');
    assert.deepEqual(
      [nowDecision?.namespace_id, nowDecision?.root_namespace_id, nowDecision?.user_id],
      [7, 7, 5],
      'job_info ids of runner >= 18.5 are audited',
    );
    assert.equal(world.emu.sessions.find((s) => s.tags['gitlab:job_id'] === String(now.c.jobId))?.tags['gitlab:pipeline_id'], '801');
    // A verified token also vouches for the pipeline id.
    const tok = await runCase('branch', '16.11', 'main', true);
    assert.equal(world.emu.sessions.find((s) => s.tags['gitlab:job_id'] === String(tok.c.jobId))?.tags['gitlab:pipeline_id'], '801');
  });
});

describe('GitLab under a relative URL root, runner without project_full_path', () => {
  let world: World;
  before(async () => {
    world = await startWorld({
      delivery: 'env',
      extra: '[gitlab]\nurl = "https://host.example/gitlab"\n',
      roles: role('main', '  refs = ["main"]') + role('protected', '  protected = true'),
    });
    for (const name of ['main', 'protected']) world.emu.addRole({ arn: world.roleArn(name), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(() => world.close());

  test('https://host.example/gitlab/acme/app.git is project acme/app; git_info.protected decides protected without a token', async () => {
    for (const [gen, roleName] of [
      ['16.11', 'main'],
      ['18.3', 'protected'],
    ] as const) {
      const c = pipelineCase('branch', { jobId: 7900 + Number(gen.split('.')[0]) });
      const r = await world.job({
        response: runnerPayload(gen, c, { gitlabUrl: 'https://host.example/gitlab', variables: { JOBROLE_ROLE: roleName }, steps: { script: ['echo ok'] } }),
        steps: { script: ['echo ok'] },
      });
      assert.equal(r.status, 'success', r.jobLog);
      const decision = (await world.audit()).find((e) => e.event === 'decision' && e.job_id === c.jobId);
      assert.equal(decision?.project, 'acme/app');
      assert.equal(decision?.outcome, 'allow');
    }
  });
});
