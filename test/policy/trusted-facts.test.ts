// Fork-aware project matching and the token-vs-response-file cross-check.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bothProjectsMatch, crossCheck } from '../../src/policy/trusted-facts.js';
import type { VerifiedClaims } from '../../src/identity/claims.js';

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  ).test(value);

const base: VerifiedClaims = {
  iss: 'https://gitlab.example.com',
  sub: 'project_path:group/app:ref_type:branch:ref:main',
  aud: 'x',
  exp: 1,
  project_path: 'group/app',
  ref: 'main',
  job_id: '4242',
};
const fork: VerifiedClaims = { ...base, job_project_path: 'mallory/app', ref: 'evil-branch' };

describe('bothProjectsMatch', () => {
  test('an upstream pipeline matches on project_path', () => {
    assert.equal(bothProjectsMatch(base, 'group/*', glob), true);
    assert.equal(bothProjectsMatch(base, 'other/*', glob), false);
  });
  test("a fork merge-request job does not get the upstream project's role", () => {
    assert.equal(bothProjectsMatch(fork, 'group/app', glob), false);
    assert.equal(bothProjectsMatch(fork, '*/app', glob), true);
  });
});

describe('crossCheck', () => {
  test('agreeing token and response file: no reasons', () => {
    assert.deepEqual(crossCheck(base, { projectPath: 'group/app', ref: 'main', jobId: 4242 }), []);
  });
  test('a token copied from another project, ref and job is caught on each count', () => {
    const reasons = crossCheck(base, { projectPath: 'group/other', ref: 'dev', jobId: 7 });
    assert.equal(reasons.length, 3);
    assert.match(reasons[0] ?? '', /project "group\/app".*runs in "group\/other"/);
    assert.match(reasons[1] ?? '', /ref "main".*ref "dev"/);
    assert.match(reasons[2] ?? '', /job 4242, not to this job 7/);
  });
  test('for a fork the response file is compared with job_project_path', () => {
    assert.deepEqual(crossCheck(fork, { projectPath: 'mallory/app', ref: 'evil-branch', jobId: 4242 }), []);
    assert.match(crossCheck(fork, { projectPath: 'group/app', ref: 'evil-branch', jobId: 4242 }).join(), /job_project_path/);
  });
  test('a token without ref or job_id cannot be tied to the job', () => {
    const { ref: _r, job_id: _j, ...bare } = base;
    assert.equal(crossCheck(bare, { projectPath: 'group/app', ref: 'main', jobId: 4242 }).length, 2);
  });
});
