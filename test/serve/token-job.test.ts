// Unit tests of the broker's facts: a verified token alone, with the driver's merge-request and fork rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import type { VerifiedClaims } from '../../src/identity/claims.js';
import { sessionName, sessionTags, sourceIdentity } from '../../src/credentials/session.js';
import { decideForToken, jobFromToken, refusalMessage } from '../../src/serve/token-job.js';

const config = parseConfigText(
  `
[gitlab]
url = "https://gitlab.example.com"

[[roles]]
name = "deploy"
arn = "arn:aws:iam::111122223333:role/deploy"
  [roles.allow]
  projects = ["acme/app"]
  refs = ["main"]
  protected = true

[[roles]]
name = "review"
arn = "arn:aws:iam::111122223333:role/review"
  [roles.allow]
  projects = ["acme/app"]
  pipeline_sources = ["merge_request_event"]
`,
  'test',
);

function claims(extra: Partial<VerifiedClaims> = {}): VerifiedClaims {
  return {
    iss: 'https://gitlab.example.com',
    sub: 'project_path:acme/app:ref_type:branch:ref:main',
    aud: 'https://broker',
    exp: 2_000_000_000,
    project_path: 'acme/app',
    project_id: '77',
    job_id: '4242',
    pipeline_id: '9001',
    ref: 'main',
    ref_type: 'branch',
    ref_protected: true,
    pipeline_source: 'push',
    user_login: 'alice',
    ...extra,
  };
}

const job = (c: VerifiedClaims) => {
  const j = jobFromToken({ claims: c, raw: 'x.y.z' });
  assert.ok(!('problem' in j));
  return j;
};

test('a protected main push gets deploy; session name, SourceIdentity and tags as the driver', () => {
  const j = job(claims());
  const d = decideForToken(j, 'deploy', config);
  assert.equal(d.kind, 'allow');
  assert.equal(sessionName(j.ctx), 'gitlab-77-4242');
  assert.equal(sourceIdentity(j.ctx, 'job'), 'gitlab-job-4242');
  const tags = sessionTags(j.ctx);
  assert.deepEqual(tags.required, [
    { Key: 'gitlab:project_path', Value: 'acme/app' },
    { Key: 'gitlab:job_id', Value: '4242' },
  ]);
  assert.ok(tags.optional.some((t) => t.Key === 'gitlab:pipeline_id' && t.Value === '9001'));
});

test('a merge-request pipeline from a branch named main is never granted by a refs rule, only by a rule that allows MRs', () => {
  const mr = job(claims({ pipeline_source: 'merge_request_event', ref_protected: false }));
  const d = decideForToken(mr, 'deploy', config);
  assert.equal(d.kind, 'deny');
  if (d.kind === 'deny') assert.match(refusalMessage(d), /refs: a merge-request pipeline .* is never allowed by a refs rule/);
  assert.equal(decideForToken(mr, 'review', config).kind, 'allow');
  // Even if GitLab said protected (source and target protected), the refs rule still does not grant an MR.
  assert.equal(decideForToken(job(claims({ pipeline_source: 'merge_request_event', ref_protected: true })), 'deploy', config).kind, 'deny');
});

test("a fork's merge request run in the parent: project_path is the fork, so acme/app roles are refused", () => {
  const fork = job(claims({ pipeline_source: 'merge_request_event', project_path: 'mallory/app', job_project_path: 'acme/app', ref_protected: false }));
  const d = decideForToken(fork, 'review', config);
  assert.equal(d.kind, 'deny');
  if (d.kind === 'deny') assert.match(refusalMessage(d), /projects: .*mallory\/app.* does not match "acme\/app"/);
});

test('a token without job_id or project_id cannot stand for a job', () => {
  const { job_id: _dropped, ...noJob } = claims();
  assert.match(String((jobFromToken({ claims: noJob, raw: 'x' }) as { problem: string }).problem), /job_id/);
  assert.match(String((jobFromToken({ claims: claims({ project_id: 'abc' }), raw: 'x' }) as { problem: string }).problem), /project_id/);
});

test('an unknown role is refused like a refused one, naming only itself', () => {
  const d = decideForToken(job(claims()), 'admin', config);
  assert.equal(d.kind, 'deny');
  if (d.kind === 'deny') {
    const m = refusalMessage(d);
    assert.match(m, /role "admin" is refused/);
    assert.doesNotMatch(m, /deploy|review/);
  }
});
