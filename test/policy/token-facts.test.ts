// factsFromToken: every policy fact from a verified token alone, each naming its claim.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { factsFromToken } from '../../src/policy/token-facts.js';

test('a tag pipeline token: facts with their claims, nothing invented', () => {
  const f = factsFromToken({
    iss: 'i',
    sub: 's',
    aud: 'a',
    exp: 1,
    project_path: 'acme/app',
    job_project_path: 'acme/app',
    ref: 'v1.2.0',
    ref_type: 'tag',
    ref_protected: true,
    pipeline_source: 'push',
    environment: 'production',
    environment_protected: true,
    deployment_tier: 'production',
    user_login: 'alice',
  });
  assert.deepEqual(f.project, { value: 'acme/app', source: 'id-token', field: 'job_project_path' });
  assert.deepEqual(f.protected, { value: true, source: 'id-token', field: 'ref_protected' });
  assert.equal(f.protectedProblem, undefined);
  assert.deepEqual([f.ref.value, f.refType.value, f.mergeRequest.value, f.sourceBranch], ['v1.2.0', 'tag', false, undefined]);
  assert.deepEqual(
    [f.environment?.value, f.environmentProtected?.value, f.deploymentTier?.value, f.userLogin?.value],
    ['production', true, 'production', 'alice'],
  );
  const bare = factsFromToken({ iss: 'i', sub: 's', aud: 'a', exp: 1, project_path: 'acme/app' });
  assert.deepEqual(bare.project, { value: 'acme/app', source: 'id-token', field: 'project_path' });
  assert.equal(bare.protected, undefined);
  assert.equal(bare.environment, undefined);
  assert.equal(bare.pipelineSource, undefined);
});

test('external pull requests are treated like merge requests (their branch is named by the PR author)', () => {
  const f = factsFromToken({ iss: 'i', sub: 's', aud: 'a', exp: 1, project_path: 'acme/app', ref: 'main', pipeline_source: 'external_pull_request_event' });
  assert.equal(f.mergeRequest.value, true);
  assert.deepEqual(f.sourceBranch, { value: 'main', source: 'id-token', field: 'ref' });
});
