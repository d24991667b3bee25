// End to end through the runner harness: roles conditioned on verified GitLab ID-token facts, bad tokens, forks, config.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, type World } from './world.js';
import {
  AUDIENCE,
  assertNoAwsCall,
  assertRefusedInPrepare,
  assertTokenNotLeaked,
  flipPayloadChar,
  mintFor,
  rewritePayload,
  sdkCallerIdentityStep,
  startIdTokenWorld,
  type JobFacts,
} from './id-token-helpers.js';

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const ROLES = `
[[roles]]
name = "prod-only"
arn = "arn:aws:iam::111122223333:role/prod-only"
  [roles.allow]
  projects = ["group/app"]
  protected = true

[[roles]]
name = "prod-env"
arn = "arn:aws:iam::111122223333:role/prod-env"
  [roles.allow]
  projects = ["group/app"]
  environments = ["production"]

[[roles]]
name = "app"
arn = "arn:aws:iam::111122223333:role/app"
  [roles.allow]
  projects = ["group/app"]
`;

describe('ID-token conditions (assume-role, delivery env)', () => {
  let world: World;
  let nextJob = 6100;
  before(async () => {
    world = await startIdTokenWorld({ delivery: 'env', roles: ROLES });
    for (const name of ['prod-only', 'prod-env', 'app']) {
      world.emu.addRole({ arn: world.roleArn(name), trust: { principals: [world.emu.hostRoleArn] } });
    }
  });
  after(() => world.close());

  /** Runs one job with the given response facts, token and extra variables; returns the result and the calls it made. */
  async function job(facts: JobFacts, role: string, token: string | undefined, variables: Record<string, string> = {}) {
    const from = world.emu.calls.length;
    const r = await world.job({
      response: buildJobResponse({ projectId: 77, projectPath: 'group/app', ref: 'main', ...facts }),
      variables: {
        JOBROLE_ROLE: role,
        ...(token !== undefined ? { JOBROLE_ID_TOKEN: token } : {}),
        AWS_ENDPOINT_URL_STS: world.emu.endpoint,
        ...variables,
      },
      steps: { script: [sdkCallerIdentityStep()] },
    });
    return { r, from };
  }

  describe('protected-branch role', () => {
    test('granted on a protected ref (ref_protected "true" in the token)', async () => {
      const facts = { jobId: nextJob++, ref: 'main' };
      const token = await mintFor(world.emu, facts, { ref_protected: 'true' });
      const { r } = await job(facts, 'prod-only', token);
      assert.equal(r.status, 'success', r.jobLog);
      assert.match(r.jobLog, /AWS role "prod-only" granted/);
      assert.match(r.jobLog, new RegExp(`^sdk arn:aws:sts::111122223333:assumed-role/prod-only/gitlab-77-${facts.jobId}$`, 'm'));
      await assertTokenNotLeaked(world, r, token);
      const decision = (await world.audit()).find((e) => e.event === 'decision' && e.job_id === facts.jobId);
      assert.equal(decision?.outcome, 'allow');
    });

    test('refused on an unprotected ref even though the job sets CI_COMMIT_REF_PROTECTED=true', async () => {
      const facts = { jobId: nextJob++, ref: 'feature/x' };
      const token = await mintFor(world.emu, facts, { ref_protected: 'false' });
      const { r, from } = await job(facts, 'prod-only', token, { CI_COMMIT_REF_PROTECTED: 'true' });
      assertRefusedInPrepare(r);
      assert.match(r.jobLog, /role "prod-only" \(asked for in JOBROLE_ROLE\) is refused for project "group\/app", branch "feature\/x"/);
      assert.match(r.jobLog, /protected: ref_protected is false in the ID token, rule wants true/);
      assertNoAwsCall(world.emu, from);
      assert.ok(!world.emu.sessions.some((s) => s.sessionName === `gitlab-77-${facts.jobId}`), 'a session was issued for a refused job');
      await assertTokenNotLeaked(world, r, token);
      const decision = (await world.audit()).find((e) => e.event === 'decision' && e.job_id === facts.jobId);
      assert.equal(decision?.outcome, 'deny');
      assert.equal(decision?.role, 'prod-only');
    });

    test('refused without an ID token, even with CI_COMMIT_REF_PROTECTED=true: the variable is not proof', async () => {
      const facts = { jobId: nextJob++, ref: 'main' };
      const { r, from } = await job(facts, 'prod-only', undefined, { CI_COMMIT_REF_PROTECTED: 'true' });
      assertRefusedInPrepare(r);
      assert.match(
        r.jobLog,
        /protected: needs an ID token or gitlab-runner >= 18\.3 with GitLab >= 18\.3: the response file has no git_info\.protected .*declare id_tokens: in the job/,
      );
      assertNoAwsCall(world.emu, from);
    });
  });

  describe('environment-scoped role', () => {
    test('granted with environment "production"', async () => {
      const facts = { jobId: nextJob++ };
      const token = await mintFor(world.emu, facts, { environment: 'production', environment_protected: 'true', deployment_tier: 'production' });
      const { r } = await job(facts, 'prod-env', token);
      assert.equal(r.status, 'success', r.jobLog);
      assert.match(r.jobLog, new RegExp(`^sdk arn:aws:sts::111122223333:assumed-role/prod-env/gitlab-77-${facts.jobId}$`, 'm'));
    });

    test('refused with environment "staging", whatever CI_ENVIRONMENT_NAME the job sets', async () => {
      const facts = { jobId: nextJob++ };
      const token = await mintFor(world.emu, facts, { environment: 'staging', deployment_tier: 'staging' });
      const { r, from } = await job(facts, 'prod-env', token, { CI_ENVIRONMENT_NAME: 'production', CI_ENVIRONMENT_TIER: 'production' });
      assertRefusedInPrepare(r);
      assert.match(r.jobLog, /role "prod-env" \(asked for in JOBROLE_ROLE\) is refused for project "group\/app", branch "main"/);
      assert.match(r.jobLog, /environments: environment "staging" does not match "production"/);
      assertNoAwsCall(world.emu, from);
      await assertTokenNotLeaked(world, r, token);
    });
  });

  describe('tokens that are refused', () => {
    const rejected = /The job's JOBROLE_ID_TOKEN was rejected: /;
    const cases: Array<{ name: string; token: (f: JobFacts) => Promise<string>; says: RegExp }> = [
      {
        name: 'expired',
        token: (f) => mintFor(world.emu, f, {}, { expiresIn: -3600 }),
        says: /it expired at \S+, \d+ s ago \(clock skew allowed: \d+ s\)/,
      },
      {
        name: 'for another audience',
        token: (f) => mintFor(world.emu, f, { aud: 'https://someone-else.example' }),
        says: new RegExp(`its audience "https://someone-else\\.example" is not "${AUDIENCE.replace(/[.]/g, '\\.')}"`),
      },
      {
        name: 'with a character of its payload flipped',
        token: async (f) => flipPayloadChar(await mintFor(world.emu, f)),
        says: /its signature does not match GitLab's key: the token was altered or signed by someone else/,
      },
      {
        name: 'with ref_protected rewritten to "true" (signature kept)',
        token: async (f) => rewritePayload(await mintFor(world.emu, f, { ref_protected: 'false' }), { ref_protected: 'true' }),
        says: /its signature does not match GitLab's key/,
      },
      {
        name: 'unsigned (alg none)',
        token: (f) => mintFor(world.emu, f, {}, { alg: 'none' }),
        says: /it uses alg "none" \(it is unsigned\); only RS256, which GitLab signs with, is accepted/,
      },
      {
        name: 'HS256 (a shared-secret signature)',
        token: (f) => mintFor(world.emu, f, {}, { alg: 'HS256' }),
        says: /it uses alg "HS256"; only RS256/,
      },
      {
        name: 'signed with a key the issuer never published (same kid)',
        token: (f) => mintFor(world.emu, f, {}, { signWith: 'foreign' }),
        says: /its signature does not match GitLab's key/,
      },
      {
        name: 'naming a key id GitLab does not publish',
        token: (f) => mintFor(world.emu, f, {}, { signWith: 'foreign', kid: 'not-a-gitlab-key' }),
        says: /it is signed with key id "not-a-gitlab-key", which is not among GitLab's keys/,
      },
    ];
    for (const c of cases) {
      test(`${c.name}: a build failure naming the reason, and no AWS call`, async () => {
        const facts = { jobId: nextJob++ };
        const token = await c.token(facts);
        const { r, from } = await job(facts, 'app', token);
        assertRefusedInPrepare(r);
        assert.match(r.jobLog, rejected);
        assert.match(r.jobLog, c.says);
        assertNoAwsCall(world.emu, from);
        await assertTokenNotLeaked(world, r, token);
        assert.ok(!(await world.audit()).some((e) => e.job_id === facts.jobId && (e.event === 'issue' || e.outcome === 'allow')));
      });
    }

    test('for another project than the response file: refused by the cross-check', async () => {
      const facts = { jobId: nextJob++ };
      // A genuine token, but minted for a job of other/app (copied from another project's job).
      const token = await mintFor(world.emu, { ...facts, projectPath: 'other/app' });
      const { r, from } = await job(facts, 'app', token);
      assertRefusedInPrepare(r);
      assert.match(r.jobLog, /role "app" \(asked for in JOBROLE_ROLE\) is refused for project "group\/app", branch "main"/);
      assert.match(r.jobLog, /id-token: the ID token is for project "other\/app" \(project_path\) but this job runs in "group\/app"/);
      assertNoAwsCall(world.emu, from);
      await assertTokenNotLeaked(world, r, token);
    });

    test('from another job of the same project: refused by the cross-check', async () => {
      const facts = { jobId: nextJob++ };
      const token = await mintFor(world.emu, { ...facts, jobId: 1 });
      const { r, from } = await job(facts, 'app', token);
      assertRefusedInPrepare(r);
      assert.match(r.jobLog, new RegExp(`id-token: the ID token belongs to job 1, not to this job ${facts.jobId}`));
      assertNoAwsCall(world.emu, from);
    });
  });

  describe('fork merge requests', () => {
    test("a fork's MR token (project_path group/app, job_project_path fork/app) does not get group/app's role", async () => {
      const facts = { jobId: nextJob++, projectPath: 'fork/app', ref: 'patch-1' };
      const token = await mintFor(world.emu, { ...facts, projectPath: 'group/app' }, { job_project_path: 'fork/app', pipeline_source: 'merge_request_event' });
      // The fork's author also claims to be group/app through the variables they control.
      const { r, from } = await job(facts, 'app', token, { CI_PROJECT_PATH: 'group/app', CI_MERGE_REQUEST_PROJECT_PATH: 'group/app' });
      assertRefusedInPrepare(r);
      assert.match(r.jobLog, /role "app" \(asked for in JOBROLE_ROLE\) is refused for project "fork\/app", merge-request pipeline on "patch-1"/);
      assert.match(r.jobLog, /projects: project "fork\/app" \(ID token: project_path "group\/app", job_project_path "fork\/app"\) does not match "group\/app"/);
      assertNoAwsCall(world.emu, from);
      await assertTokenNotLeaked(world, r, token);
    });

    test('the same token is refused when the response file claims the upstream project', async () => {
      const facts = { jobId: nextJob++, projectPath: 'group/app', ref: 'patch-1' };
      const token = await mintFor(world.emu, facts, { job_project_path: 'fork/app', pipeline_source: 'merge_request_event' });
      const { r, from } = await job(facts, 'app', token);
      assertRefusedInPrepare(r);
      assert.match(r.jobLog, /id-token: the ID token is for project "fork\/app" \(job_project_path\) but this job runs in "group\/app"/);
      assert.match(
        r.jobLog,
        /projects: project "group\/app" \(ID token: project_path "group\/app", job_project_path "fork\/app"\) does not match "group\/app"/,
      );
      assertNoAwsCall(world.emu, from);
    });
  });

  describe("GitLab's keys", () => {
    test('come from discovery once and then from the cache, even for tokens naming unknown key ids', () => {
      // One fetch for the first job; at most one more if the unknown-kid job ran more than 30 s after it.
      assert.ok(world.emu.oidc.jwksFetches >= 1 && world.emu.oidc.jwksFetches <= 2, `JWKS fetched ${world.emu.oidc.jwksFetches} times`);
    });

    test('after GitLab rotates its key, a token signed with the new key is accepted (keys fetched again once)', async () => {
      // The refetch on an unknown kid is rate-limited to once per 30 s: age the cache instead of waiting.
      const cache = join(world.stateDir, 'driver-cache', 'jwks.json');
      const entry = JSON.parse(await readFile(cache, 'utf8')) as { fetchedAt: number };
      await writeFile(cache, JSON.stringify({ ...entry, fetchedAt: Date.now() - 120_000 }), { mode: 0o600 });
      world.emu.oidc.rotateKeys();
      const fetches = world.emu.oidc.jwksFetches;
      for (const n of [1, 2]) {
        const facts = { jobId: nextJob++ };
        const token = await mintFor(world.emu, facts);
        const { r } = await job(facts, 'app', token);
        assert.equal(r.status, 'success', r.jobLog);
        assert.equal(world.emu.oidc.jwksFetches, fetches + 1, `job ${n}: the keys are fetched again once, then cached`);
      }
    });
  });
});

describe('where the keys come from', () => {
  let world: World;
  let base: string;
  let nextJob = 6500;
  const roles = `
[[roles]]
name = "prod-only"
arn = "arn:aws:iam::111122223333:role/prod-only"
  [roles.allow]
  projects = ["group/app"]
  protected = true
`;
  before(async () => {
    world = await startWorld({ delivery: 'env', roles: '' });
    base = await readFile(world.configPath, 'utf8');
    world.emu.addRole({ arn: world.roleArn('prod-only'), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(() => world.close());

  const configure = (text: string) => writeFile(world.configPath, `${base}\n${text}\n`, { mode: 0o600 });
  /** A job on a protected main branch with a genuine token (signed with the issuer's current key). */
  async function job(role: string) {
    const facts = { jobId: nextJob++, ref: 'main' };
    const t = await mintFor(world.emu, facts, { ref_protected: 'true' });
    const from = world.emu.calls.length;
    const r = await world.job({
      response: buildJobResponse({ jobId: facts.jobId, projectId: 77, projectPath: 'group/app', ref: 'main' }),
      variables: { JOBROLE_ROLE: role, JOBROLE_ID_TOKEN: t, AWS_ENDPOINT_URL_STS: world.emu.endpoint },
      steps: { script: [sdkCallerIdentityStep()] },
    });
    return { r, from, facts, token: t };
  }

  test('GitLab unreachable and no cached keys: a system failure the runner retries, no AWS call', async () => {
    const port = await closedPort();
    await configure(`[gitlab]\nurl = "http://127.0.0.1:${port}"\naudience = "${AUDIENCE}"\n${roles}`);
    const { r, from, token } = await job('prod-only');
    assert.equal(r.status, 'system_failure', r.jobLog);
    assert.equal(r.prepareAttempts, 3);
    assert.match(r.jobLog, new RegExp(`Cannot fetch GitLab's OIDC discovery document from http://127\\.0\\.0\\.1:${port}/\\.well-known/openid-configuration`));
    assertNoAwsCall(world.emu, from);
    await assertTokenNotLeaked(world, r, token);
  });

  test('[gitlab].jwks_file: keys from the file, no network call; a key missing from it is refused with what to update', async () => {
    const file = join(world.dir, 'gitlab-keys.json');
    await writeFile(file, await (await fetch(`${world.emu.oidc.issuer}/oauth/discovery/keys`)).text(), { mode: 0o644 });
    await configure(`[gitlab]\nurl = "${world.emu.oidc.issuer}"\naudience = "${AUDIENCE}"\njwks_file = "${file}"\n${roles}`);
    const fetches = world.emu.oidc.jwksFetches;
    const ok = await job('prod-only');
    assert.equal(ok.r.status, 'success', ok.r.jobLog);
    assert.match(ok.r.jobLog, /AWS role "prod-only" granted/);
    assert.equal(world.emu.oidc.jwksFetches, fetches, 'with jwks_file the driver never asks GitLab for keys');

    world.emu.oidc.rotateKeys({ keepOld: false });
    const bad = await job('prod-only');
    assertRefusedInPrepare(bad.r);
    assert.match(bad.r.jobLog, /which is not among the JWKS file .*gitlab-keys\.json .*update it after GitLab rotates its signing key/);
    assert.equal(world.emu.oidc.jwksFetches, fetches);
    assertNoAwsCall(world.emu, bad.from);
  });

  test('[gitlab].jwks_file without [gitlab].url is a host fault naming [gitlab].url, not a refusal blamed on the job', async () => {
    const file = join(world.dir, 'gitlab-keys.json');
    await writeFile(file, await (await fetch(`${world.emu.oidc.issuer}/oauth/discovery/keys`)).text(), { mode: 0o644 });
    await configure(`[gitlab]\njwks_file = "${file}"\n${roles}`);
    const { r, from } = await job('prod-only');
    assert.equal(r.status, 'system_failure', r.jobLog);
    assert.match(r.jobLog, /\[gitlab\]\.url/);
    assert.doesNotMatch(r.jobLog, /was rejected/);
    assertNoAwsCall(world.emu, from);
  });

  test('a token on a runner without ID-token verification is ignored with a warning; roles without token conditions still work', async () => {
    await configure(`
[[roles]]
name = "plain"
arn = "arn:aws:iam::111122223333:role/prod-only"
  [roles.allow]
  projects = ["group/app"]
`);
    const { r, token } = await job('plain');
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(
      r.jobLog,
      /the job supplies JOBROLE_ID_TOKEN, but this runner has no ID-token verification configured \(\[gitlab\]\.url\); the token is ignored/,
    );
    assert.match(r.jobLog, /^sdk arn:aws:sts::111122223333:assumed-role\/prod-only\/gitlab-77-\d+$/m);
    await assertTokenNotLeaked(world, r, token);
  });
});

describe('config validation', () => {
  let world: World;
  before(async () => {
    world = await startWorld({
      delivery: 'env',
      roles: `
[[roles]]
name = "prod-only"
arn = "arn:aws:iam::111122223333:role/prod-only"
  [roles.allow]
  environments = ["production"]
`,
    });
  });
  after(() => world.close());

  test('allow.environments without [gitlab].url is a system failure of the config stage naming the key', async () => {
    const from = world.emu.calls.length;
    const r = await world.job({
      response: buildJobResponse({ jobId: 6900, projectPath: 'group/app' }),
      variables: { JOBROLE_ROLE: 'prod-only', CI_COMMIT_REF_PROTECTED: 'true' },
      steps: { script: ['echo should-not-run'] },
    });
    assert.equal(r.status, 'system_failure', r.jobLog);
    assert.equal(r.prepareAttempts, 3, 'a system failure of config is retried by the runner');
    assert.ok(r.stages.filter((s) => s.name === 'config').every((s) => s.exitCode === 2));
    assert.ok(!r.stages.some((s) => s.name === 'prepare'), 'prepare must not run after config failed');
    assert.match(
      r.jobLog,
      /\[\[roles\]\] "prod-only"\.allow\.environments: needs a verified GitLab ID token, but ID-token verification is not configured \(set \[gitlab\]\.url\)/,
    );
    assert.match(r.jobLog, new RegExp(`config ${world.configPath.replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(r.jobLog, /should-not-run/);
    assertNoAwsCall(world.emu, from);
  });
});
