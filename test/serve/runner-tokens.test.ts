// The broker's view of real GitLab ID tokens: every pipeline kind, as GitLab 18.2.1, 18.2.2 and 18.3 sign them.

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import type { JobroleConfig } from '../../src/config/types.js';
import { explainToken } from '../../src/serve/explain-token.js';
import { PIPELINE_KINDS, gitlabTokenClaims, pipelineCase, type GitlabTokenVersion } from '../harness/runner-payloads.js';
import { ROLES, ROLE_NAMES, expected, expectedFromToken, parseVerdicts } from '../harness/pipeline-verdicts.js';
import { mint, newKey, type SigningKey } from '../identity/oidc-fixture.js';

const ISSUER = 'https://gitlab.example.com';
const AUDIENCE = 'https://jobrole.example.com/broker';
const VERSIONS: GitlabTokenVersion[] = ['18.2.1', '18.2.2', '18.3'];
let dir: string;
let key: SigningKey;
let config: JobroleConfig;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobrole-serve-tokens-'));
  key = await newKey('gitlab-1');
  await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [key.publicJwk] }));
  config = parseConfigText(
    `[driver]\nstate_dir = "${join(dir, 'state')}"\n[gitlab]\nurl = "${ISSUER}"\njwks_file = "${join(dir, 'jwks.json')}"\n[serve]\naudience = "${AUDIENCE}"\n${ROLES}`,
    join(dir, 'config.toml'),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

let nextJob = 9100;
async function tokenFor(kind: (typeof PIPELINE_KINDS)[number], version: GitlabTokenVersion) {
  const c = pipelineCase(kind, { jobId: nextJob++ });
  const now = Math.floor(Date.now() / 1000);
  return mint(key, { ...gitlabTokenClaims(c, AUDIENCE, 'gitlab.example.com', version), iss: ISSUER, iat: now - 5, exp: now + 3600 });
}

test('explain --id-token (broker view) judges every pipeline kind as the driver does with a token, for every GitLab version', async () => {
  for (const kind of PIPELINE_KINDS) {
    for (const version of VERSIONS) {
      const raw = await tokenFor(kind, version);
      const { text, rejected, decision } = await explainToken({ config, idToken: raw });
      const what = `${kind}, token of GitLab ${version}:\n${text}`;
      assert.equal(rejected, false, what);
      assert.equal(decision, undefined);
      assert.ok(!text.includes(raw.split('.')[2] ?? raw), 'explain never echoes the token');
      const want = expectedFromToken(kind, version);
      assert.deepEqual(parseVerdicts(text), want, what);
      if (version === '18.3') assert.deepEqual(want, expected(kind, '19.0', true), 'the runner-payload e2e expects the same with a token');
      // What the broker answers for each role in the URL: 200 exactly for the roles explain says it would allow.
      for (const name of ROLE_NAMES) {
        const asked = await explainToken({ config, idToken: raw, role: name });
        assert.equal(asked.decision?.kind, want[name] === 'allow' ? 'allow' : 'deny', `${name} for ${what}`);
        assert.match(asked.text, want[name] === 'allow' ? /^Decision: ALLOW \(200\)/m : /^Decision: DENY \(403\): role "\w+" is refused for project/m);
      }
    }
  }
});

test("fork merge requests: the broker names the project the token vouches for and why the parent's roles are refused", async () => {
  const inParent = await explainToken({ config, idToken: await tokenFor('fork-mr-in-parent', '18.3'), role: 'project' });
  assert.match(inParent.text, /\(fork: project_path "mallory\/app", job_project_path "acme\/app"; a projects rule must match both\)/);
  assert.match(inParent.text, /^Decision: DENY \(403\): role "project" is refused for project "acme\/app"/m);
  const inFork = await explainToken({ config, idToken: await tokenFor('fork-mr-in-fork', '18.3'), role: 'project' });
  assert.match(inFork.text, /^Decision: DENY \(403\): role "project" is refused for project "mallory\/app"/m);
  const old = await explainToken({ config, idToken: await tokenFor('fork-mr-in-parent', '18.2.2'), role: 'project' });
  assert.match(old.text, /^Decision: DENY \(403\): role "project" is refused for project "mallory\/app"/m);
});
