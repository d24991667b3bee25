// Merge-request and fork pipelines: branch rules never grant them, MR-allowing roles do, protected only when GitLab says so.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { denialMessage, evaluateFacts, evaluatePolicy, type Decision } from '../../src/policy/evaluate.js';
import { factsFromJob } from '../../src/policy/job-facts.js';
import { factsFromToken } from '../../src/policy/token-facts.js';
import { crossCheck } from '../../src/policy/trusted-facts.js';
import type { VerifiedClaims } from '../../src/identity/claims.js';
import { jobContext } from './context-fixture.js';

const config = parseConfigText(
  `
[gitlab]
url = "https://gitlab.example.com"
[[roles]]
name = "main"
arn = "arn:aws:iam::111122223333:role/main"
  [roles.allow]
  projects = ["group/app"]
  refs = ["main"]
[[roles]]
name = "protected"
arn = "arn:aws:iam::111122223333:role/protected"
  [roles.allow]
  projects = ["group/app"]
  protected = true
[[roles]]
name = "mr"
arn = "arn:aws:iam::111122223333:role/mr"
  [roles.allow]
  projects = ["group/app"]
  pipeline_sources = ["merge_request_event"]
[[roles]]
name = "project"
arn = "arn:aws:iam::111122223333:role/project"
  [roles.allow]
  projects = ["group/app"]
`,
  't.toml',
);

const SHA = '0123456789abcdef0123456789abcdef01234567';
const mrClaims = (over: Partial<VerifiedClaims> = {}): Partial<VerifiedClaims> => ({
  ref: 'main',
  ref_type: 'branch',
  ref_path: 'refs/heads/main',
  pipeline_source: 'merge_request_event',
  ref_protected: false,
  sha: SHA,
  ...over,
});
const kind = (d: Decision) => d.kind;
const failed = (d: Decision) =>
  d.kind === 'deny'
    ? d.verdicts
        .filter((v) => !v.ok)
        .map((v) => `${v.condition}: ${v.detail}`)
        .join('\n')
    : '';

test('a detached MR pipeline whose source branch is "main": the token is bound to the job, refs = ["main"] never grants it', () => {
  const ctx = jobContext({ ref: 'refs/merge-requests/7/head', claims: mrClaims() });
  assert.deepEqual(
    crossCheck(ctx.idToken!.claims, { projectPath: 'group/app', ref: ctx.ref.value, jobId: 4242, sha: SHA }),
    [],
    'token and response agree though their refs differ',
  );
  const d = evaluatePolicy(ctx, 'main', config);
  assert.equal(kind(d), 'deny');
  assert.match(
    failed(d),
    /^refs: a merge-request pipeline \(ref "refs\/merge-requests\/7\/head", source branch "main"; git_info\.ref \[response-file\]\) is never allowed by a refs rule/,
  );
  assert.match(failed(d), /pipeline_sources = \["merge_request_event"\]/);
  assert.match(
    denialMessage(d as Extract<Decision, { kind: 'deny' }>, 'JOBROLE_ROLE'),
    /for project "group\/app", merge-request pipeline on "refs\/merge-requests\/7\/head"/,
  );
  assert.equal(kind(evaluatePolicy(ctx, 'mr', config)), 'allow', 'pipeline_sources = ["merge_request_event"] allows it');
  assert.equal(kind(evaluatePolicy(ctx, 'project', config)), 'allow', 'a role without a ref rule allows it');
  assert.match(failed(evaluatePolicy(ctx, 'protected', config)), /protected: ref_protected is false in the ID token/);
});

test('merged results and merge trains are merge-request pipelines too; protected holds only when GitLab says so', () => {
  for (const ref of ['refs/merge-requests/7/merge', 'refs/merge-requests/7/train']) {
    const unprotected = jobContext({ ref, gitProtected: false, claims: mrClaims() });
    assert.equal(kind(evaluatePolicy(unprotected, 'main', config)), 'deny', ref);
    assert.match(failed(evaluatePolicy(unprotected, 'protected', config)), /git_info\.protected is false in the response file/);
    const prot = jobContext({ ref, gitProtected: true, claims: mrClaims({ ref_protected: true }) });
    assert.equal(kind(evaluatePolicy(prot, 'protected', config)), 'allow', `${ref}: protect_merge_request_pipelines made GitLab say protected`);
    assert.equal(kind(evaluatePolicy(prot, 'main', config)), 'deny', `${ref}: still not by a branch rule`);
  }
});

test('without an ID token, an MR ref is still recognised from git_info.ref, and git_info.protected decides protected', () => {
  const noToken = jobContext({ ref: 'refs/merge-requests/3/head', gitProtected: false });
  assert.equal(factsFromJob(noToken).mergeRequest.value, true);
  assert.match(failed(evaluatePolicy(noToken, 'main', config)), /refs: a merge-request pipeline/);
  assert.equal(kind(evaluatePolicy(noToken, 'project', config)), 'allow');
  const branch = jobContext({ ref: 'main', gitProtected: true });
  assert.equal(kind(evaluatePolicy(branch, 'protected', config)), 'allow', 'git_info.protected decides without a token');
  assert.equal(kind(evaluatePolicy(branch, 'main', config)), 'allow');
  const old = jobContext({ ref: 'main' });
  assert.match(failed(evaluatePolicy(old, 'protected', config)), /needs an ID token or gitlab-runner >= 18\.3/);
  const oldGitlab = jobContext({ ref: 'main', gitProtected: null });
  assert.match(failed(evaluatePolicy(oldGitlab, 'protected', config)), /git_info\.protected is null \(GitLab older than 18\.3/);
});

test('git_info.protected and ref_protected that disagree refuse protected', () => {
  const ctx = jobContext({ ref: 'main', gitProtected: false, claims: { ref_protected: true, pipeline_source: 'push' } });
  assert.match(failed(evaluatePolicy(ctx, 'protected', config)), /git_info\.protected is false but the ID token's ref_protected is true/);
});

test('the token binds on job id, project, sha, pipeline id and pipeline source for MR refs', () => {
  const base = { projectPath: 'group/app', ref: 'refs/merge-requests/7/head', jobId: 4242, sha: SHA, pipelineId: 900 };
  const claims = {
    iss: 'i',
    sub: 's',
    aud: 'a',
    exp: 1,
    project_path: 'group/app',
    job_id: '4242',
    ref: 'patch-1',
    pipeline_source: 'merge_request_event',
    sha: SHA,
    pipeline_id: '900',
  };
  assert.deepEqual(crossCheck(claims, base), []);
  assert.match(
    crossCheck({ ...claims, pipeline_source: 'push' }, base).join(),
    /merge-request ref "refs\/merge-requests\/7\/head" but the ID token has pipeline_source "push"/,
  );
  assert.match(crossCheck({ ...claims, sha: 'f'.repeat(40) }, base).join(), /for commit ffffffffffff but this job runs commit 0123456789ab/);
  assert.match(crossCheck({ ...claims, pipeline_id: '901' }, base).join(), /pipeline 901 but this job is in pipeline 900/);
  assert.match(crossCheck({ ...claims, job_id: '1' }, base).join(), /belongs to job 1/);
  assert.match(
    crossCheck(claims, { ...base, ref: 'patch-1' }).join(),
    /^$/,
    'a fork pipeline in the fork: the response ref is the branch and equals the token ref',
  );
  assert.match(
    crossCheck(claims, { ...base, ref: 'main' }).join(),
    /for ref "patch-1" but this job runs on ref "main"/,
    'outside MR refs the ref is still compared',
  );
});

test("fork MR run in the parent: fork code never gets the parent's roles (GitLab >= 18.3: project_path is the fork)", () => {
  const ctx = jobContext({
    ref: 'refs/merge-requests/9/head',
    gitProtected: false,
    claims: mrClaims({ project_path: 'mallory/app', job_project_path: 'group/app', ref_path: 'refs/heads/main' }),
  });
  assert.deepEqual(
    crossCheck(ctx.idToken!.claims, { projectPath: 'group/app', ref: ctx.ref.value, jobId: 4242, sha: SHA }),
    [],
    'job_project_path is the project running the job',
  );
  for (const role of ['main', 'protected', 'mr', 'project']) {
    const d = evaluatePolicy(ctx, role, config);
    assert.equal(kind(d), 'deny', role);
    assert.match(
      failed(d),
      /projects: project "group\/app" \(ID token: project_path "mallory\/app", job_project_path "group\/app"\) does not match "group\/app"/,
      role,
    );
  }
});

test('fork MR run in the parent with GitLab 18.2.2 (project_path the fork, no job_project_path): token and job disagree', () => {
  const ctx = jobContext({ ref: 'refs/merge-requests/9/head', claims: mrClaims({ project_path: 'mallory/app' }) });
  assert.match(failed(evaluatePolicy(ctx, 'project', config)), /ID token is for project "mallory\/app" \(project_path\) but this job runs in "group\/app"/);
});

test('fork MR run in the parent with GitLab <= 18.2.1 (project_path the parent): not protected, no branch rule', () => {
  const ctx = jobContext({ ref: 'refs/merge-requests/9/head', claims: mrClaims() });
  assert.equal(kind(evaluatePolicy(ctx, 'main', config)), 'deny');
  assert.equal(kind(evaluatePolicy(ctx, 'protected', config)), 'deny');
});

test("fork MR pipeline in the fork: the fork is the project; its own protected main is not the parent's", () => {
  const ctx = jobContext({
    projectPath: 'mallory/app',
    ref: 'main',
    gitProtected: true,
    claims: mrClaims({ project_path: 'mallory/app', job_project_path: 'mallory/app', ref_protected: true }),
  });
  for (const role of ['main', 'protected', 'mr', 'project']) assert.equal(kind(evaluatePolicy(ctx, role, config)), 'deny', role);
  assert.equal(factsFromJob(ctx).mergeRequest.source, 'id-token', 'pipeline_source says merge request although the ref is a branch name');
});

test('facts from a token alone (for a broker): same rules, same decisions', () => {
  const base = { iss: 'i', sub: 's', aud: 'a', exp: 1, project_path: 'group/app', job_project_path: 'group/app', job_id: '1', ref_type: 'branch', sha: SHA };
  const mr = factsFromToken({ ...base, ref: 'main', pipeline_source: 'merge_request_event', ref_protected: false });
  assert.equal(mr.mergeRequest.value, true);
  assert.equal(kind(evaluateFacts(mr, 'main', config)), 'deny');
  assert.equal(kind(evaluateFacts(mr, 'mr', config)), 'allow');
  assert.equal(kind(evaluateFacts(mr, 'protected', config)), 'deny');
  const push = factsFromToken({ ...base, ref: 'main', pipeline_source: 'push', ref_protected: true });
  for (const role of ['main', 'protected', 'project']) assert.equal(kind(evaluateFacts(push, role, config)), 'allow', role);
  assert.equal(kind(evaluateFacts(push, 'mr', config)), 'deny');
  const fork = factsFromToken({ ...base, project_path: 'mallory/app', ref: 'main', pipeline_source: 'merge_request_event', ref_protected: false });
  assert.equal(fork.project.value, 'group/app');
  assert.equal(kind(evaluateFacts(fork, 'mr', config)), 'deny');
  const noClaim = factsFromToken({ ...base, ref: 'main', pipeline_source: 'push' });
  assert.match(failed(evaluateFacts(noClaim, 'protected', config)), /no ref_protected claim/);
  assert.equal(kind(evaluateFacts(push, 'main', config, ['the token is for another job'])), 'deny', 'mismatches refuse every role');
});
