// `jobrole explain`: shows facts and their sources, ignores spoofed variables, and decides exactly as prepare.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { explain } from '../../src/operator/explain.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { readJobContext } from '../../src/runner/job-context.js';
import { mint, newKey, type SigningKey } from '../identity/oidc-fixture.js';
import { pipelineCase, runnerPayload } from '../harness/runner-payloads.js';

const ISSUER = 'https://gitlab.example.com';

async function setup(t: { after: (fn: () => Promise<void>) => void }, job: { project?: string; ref?: string } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-explain-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const key = await newKey('k1');
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [key.publicJwk] }));
  const responseFile = join(dir, 'response.json');
  // gitlab-runner 19.0 as it writes the file for a GitLab older than 18.3: git_info.protected is null (and the newer
  // job_info fields are zero), so the protected fact needs the ID token.
  const c = pipelineCase('branch', { jobId: 4242, parent: job.project ?? 'group/app', sourceBranch: job.ref ?? 'main' });
  const payload = runnerPayload('19.0', c, { gitlabSends: { protected: false, projectFullPath: false, pipelineId: false } });
  await writeFile(responseFile, JSON.stringify(payload));
  const config = parseConfigText(
    `
[driver]
state_dir = "${join(dir, 'state')}"
[gitlab]
url = "${ISSUER}"
jwks_file = "${join(dir, 'jwks.json')}"
[[roles]]
name = "deploy-prod"
arn = "arn:aws:iam::111122223333:role/deploy-prod"
  [roles.allow]
  projects = ["group/app"]
  refs = ["main"]
  protected = true
[[roles]]
name = "build"
arn = "arn:aws:iam::111122223333:role/build"
  [roles.allow]
  projects = ["group/*"]
[[roles]]
name = "anyone"
arn = "arn:aws:iam::111122223333:role/anyone"
`,
    join(dir, 'config.toml'),
  );
  return { dir, key, responseFile, config };
}

async function token(key: SigningKey, over: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return mint(key, {
    iss: ISSUER,
    aud: ISSUER,
    sub: 'project_path:group/app:ref_type:branch:ref:main',
    iat: now - 5,
    nbf: now - 10,
    exp: now + 600,
    project_path: 'group/app',
    job_id: '4242',
    ref: 'main',
    ref_type: 'branch',
    ref_protected: 'true',
    pipeline_source: 'push',
    ...over,
  });
}

test('a denied job shows which condition failed', async (t) => {
  const s = await setup(t, { ref: 'feature/x' });
  const r = await explain({ config: s.config, responseFile: s.responseFile, variables: { JOBROLE_ROLE: 'deploy-prod' } });
  assert.equal(r.decision.kind, 'deny');
  assert.match(r.text, /Requested role: "deploy-prod" \(from JOBROLE_ROLE\)/);
  assert.match(r.text, /FAILED refs: ref "feature\/x" does not match "main"/);
  assert.match(r.text, /FAILED protected: needs an ID token or gitlab-runner >= 18\.3/);
  assert.match(r.text, /ok +projects: project "group\/app" matches "group\/app"/);
  assert.match(r.text, /Decision: DENY: role "deploy-prod" \(asked for in JOBROLE_ROLE\) is refused/);
  assert.match(r.text, /"feature\/x" +\[response-file git_info\.ref\]/);
  assert.ok(!r.text.includes('glcbt-64_payload4242token'), 'the clone URL token never appears');
});

test('a spoofed CI_PROJECT_PATH is listed as ignored and does not change the verdict', async (t) => {
  const s = await setup(t, { project: 'other/tool' });
  const plain = await explain({ config: s.config, responseFile: s.responseFile, variables: { JOBROLE_ROLE: 'build' } });
  const spoofed = await explain({
    config: s.config,
    responseFile: s.responseFile,
    variables: { JOBROLE_ROLE: 'build', CI_PROJECT_PATH: 'group/app', CI_COMMIT_REF_PROTECTED: 'true', CI_JOB_NAME: 'deploy' },
  });
  assert.equal(spoofed.decision.kind, 'deny');
  assert.deepEqual(spoofed.decision, plain.decision);
  assert.match(spoofed.text, /CI_PROJECT_PATH="group\/app": ignored \(job-controlled\); trusted value "other\/tool" \[response-file\]/);
  assert.match(spoofed.text, /CI_COMMIT_REF_PROTECTED="true": ignored \(job-controlled\); only a verified ID token/);
  assert.ok(!spoofed.text.includes('CI_JOB_NAME='), 'a variable that agrees with the trusted fact is not listed');
  assert.match(spoofed.text, /FAILED projects: project "other\/tool" does not match "group\/\*"/);
});

test("explain's decision equals evaluatePolicy's", async (t) => {
  const s = await setup(t);
  const good = await token(s.key);
  const cases: Array<{ variables: Record<string, string>; idToken?: string }> = [
    { variables: {} },
    { variables: { JOBROLE_ROLE: 'anyone' } },
    { variables: { JOBROLE_ROLE: 'build' } },
    { variables: { JOBROLE_ROLE: 'deploy-prod' } },
    { variables: { JOBROLE_ROLE: 'deploy-prod' }, idToken: good },
    { variables: { JOBROLE_ROLE: 'deploy-prod' }, idToken: await token(s.key, { ref_protected: 'false' }) },
    { variables: { JOBROLE_ROLE: 'deploy-prod' }, idToken: await token(s.key, { job_id: '1' }) },
    { variables: { JOBROLE_ROLE: 'nope' } },
  ];
  for (const c of cases) {
    const r = await explain({
      config: s.config,
      responseFile: s.responseFile,
      variables: c.variables,
      ...(c.idToken !== undefined ? { idToken: c.idToken } : {}),
    });
    const ctx = await readJobContext({ JOB_RESPONSE_FILE: s.responseFile });
    if (c.idToken !== undefined) {
      const { verifyJobIdToken } = await import('../../src/identity/job-id-token.js');
      const log = { line() {}, ok() {}, warn() {}, error() {}, section: <T>(_n: string, _h: string, b: () => Promise<T>) => b() };
      ctx.idToken = await verifyJobIdToken(s.config, { CUSTOM_ENV_JOBROLE_ID_TOKEN: c.idToken }, log);
    }
    assert.deepEqual(r.decision, evaluatePolicy(ctx, c.variables.JOBROLE_ROLE, s.config), JSON.stringify(c.variables));
  }
});

test('a verified ID token supplies the protected fact and its claims are shown with their source', async (t) => {
  const s = await setup(t);
  const r = await explain({ config: s.config, responseFile: s.responseFile, variables: { JOBROLE_ROLE: 'deploy-prod' }, idToken: await token(s.key) });
  assert.equal(r.decision.kind, 'allow');
  assert.match(r.text, /ID token \(JOBROLE_ID_TOKEN\):\n {2}verified: issuer https:\/\/gitlab.example.com/);
  assert.match(r.text, /ref_protected +"true" +\[id-token ref_protected\]/);
  assert.match(r.text, /Decision: ALLOW: "deploy-prod"/);
});

test('a rejected ID token is shown as such and the job is refused', async (t) => {
  const s = await setup(t);
  const bad = await token(s.key, { aud: 'https://elsewhere.example.com' });
  const r = await explain({ config: s.config, responseFile: s.responseFile, variables: { JOBROLE_ROLE: 'anyone', JOBROLE_ID_TOKEN: bad } });
  assert.equal(r.decision.kind, 'deny');
  assert.match(r.text, /REJECTED \(prepare fails the job\): The job's JOBROLE_ID_TOKEN was rejected: its audience/);
  assert.ok(!r.text.includes(bad), 'the token itself is never printed');
});
