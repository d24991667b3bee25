// The trusted job context from JOB_RESPONSE_FILE: only GitLab-set fields, never the variables list; clear failures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobContextFromResponse, projectPathFromRepoUrl, readJobContext, redactRepoUrl } from '../../src/runner/job-context.js';
import { SystemFailure } from '../../src/core/exit-codes.js';

const RESPONSE = {
  id: 4242,
  token: 'glcbt-job-token-secret',
  job_info: { name: 'deploy', stage: 'deploy', project_id: 77, project_name: 'app', project_full_path: 'group/app', pipeline_id: 900 },
  git_info: { repo_url: 'https://gitlab-ci-token:glcbt-job-token-secret@gitlab.example.com/group/app.git', ref: 'main', sha: 'abc123', ref_type: 'branch' },
  runner_info: { timeout: 3600 },
  variables: [
    { key: 'CI_PROJECT_PATH', value: 'other/project' },
    { key: 'CI_COMMIT_REF_NAME', value: 'protected-branch' },
  ],
};

test('every fact comes from the response file, tagged with its source', () => {
  const ctx = jobContextFromResponse(RESPONSE, 'r.json');
  assert.equal(ctx.jobId.value, 4242);
  assert.equal(ctx.projectId.value, 77);
  assert.equal(ctx.pipelineId?.value, 900);
  assert.equal(ctx.projectPath.value, 'group/app');
  assert.equal(ctx.projectName.value, 'app');
  assert.equal(ctx.jobName.value, 'deploy');
  assert.equal(ctx.stage.value, 'deploy');
  assert.equal(ctx.ref.value, 'main');
  assert.equal(ctx.refType.value, 'branch');
  assert.equal(ctx.sha.value, 'abc123');
  assert.equal(ctx.timeoutSeconds?.value, 3600);
  assert.equal(ctx.idToken, undefined, 'the response file never supplies a verified token');
  for (const k of ['jobId', 'projectId', 'pipelineId', 'projectPath', 'ref', 'refType', 'repoUrl'] as const) assert.equal(ctx[k]?.source, 'response-file');
});

test('the variables list never overrides a fact', () => {
  const ctx = jobContextFromResponse(RESPONSE, 'r.json');
  assert.equal(ctx.projectPath.value, 'group/app');
  assert.equal(ctx.ref.value, 'main');
  const noPath = { ...RESPONSE, job_info: { project_id: 77 }, git_info: { ref: 'main' } };
  assert.throws(() => jobContextFromResponse(noPath, 'r.json'), /job_info\.project_full_path/, 'CI_PROJECT_PATH in variables is not a fallback');
});

test('the clone URL is kept without the job token', () => {
  const ctx = jobContextFromResponse(RESPONSE, 'r.json');
  assert.equal(ctx.repoUrl.value, 'https://gitlab.example.com/group/app.git');
  assert.ok(!JSON.stringify(ctx).includes('glcbt-job-token-secret'), 'the job token appears nowhere in the context');
});

test('project path falls back to the clone URL; defaults for optional fields', () => {
  const ctx = jobContextFromResponse(
    { id: '12', job_info: { project_id: '5' }, git_info: { ref: 'v1', repo_url: 'https://t:x@gitlab.example.com/g/sub/p.git' } },
    'r.json',
  );
  assert.equal(ctx.jobId.value, 12, 'numeric strings accepted');
  assert.equal(ctx.projectId.value, 5);
  assert.equal(ctx.projectPath.value, 'g/sub/p');
  assert.equal(ctx.projectName.value, 'p');
  assert.equal(ctx.refType.value, 'branch');
  assert.equal(ctx.pipelineId, undefined, 'no pipeline id is made up');
  assert.equal(ctx.timeoutSeconds, undefined);
  assert.equal(jobContextFromResponse({ ...RESPONSE, runner_info: { timeout: 0 } }, 'r').timeoutSeconds, undefined);
});

test('missing or malformed required fields: SystemFailure naming each of them and the file', () => {
  assert.throws(
    () => jobContextFromResponse({}, '/tmp/x/response.json'),
    (err: unknown) => {
      assert.ok(err instanceof SystemFailure);
      assert.equal(
        err.message,
        "job response file /tmp/x/response.json lacks id, job_info.project_id, job_info.project_full_path (or git_info.repo_url), git_info.ref: is this runner's GitLab too old, or the file damaged?",
      );
      return true;
    },
  );
  for (const bad of [-1, 1.5, '12a', '', null, Number.MAX_SAFE_INTEGER + 2]) {
    assert.throws(() => jobContextFromResponse({ ...RESPONSE, id: bad }, 'r'), /lacks id[:]/, `id ${String(bad)}`);
  }
  assert.throws(() => jobContextFromResponse([], 'r'), SystemFailure);
  assert.throws(() => jobContextFromResponse(null, 'r'), SystemFailure);
  assert.throws(() => jobContextFromResponse({ ...RESPONSE, git_info: { ...RESPONSE.git_info, ref: 5 } }, 'r'), /lacks git_info\.ref/);
});

test('projectPathFromRepoUrl and redactRepoUrl', () => {
  assert.equal(projectPathFromRepoUrl('https://gitlab-ci-token:abc@gitlab.example.com/group/app.git'), 'group/app');
  assert.equal(projectPathFromRepoUrl('https://gitlab.example.com/group/my%20app'), 'group/my app');
  assert.equal(projectPathFromRepoUrl('https://gitlab.example.com/'), undefined);
  assert.equal(projectPathFromRepoUrl('not a url'), undefined);
  assert.equal(projectPathFromRepoUrl('https://gitlab.example.com/g/%E0%A4%A'), undefined, 'bad escapes are not a path');
  assert.equal(redactRepoUrl('https://gitlab-ci-token:s3cret@gitlab.example.com/g/p.git'), 'https://gitlab.example.com/g/p.git');
  assert.equal(redactRepoUrl('https://user@gitlab.example.com/g/p.git'), 'https://gitlab.example.com/g/p.git');
  assert.equal(redactRepoUrl('garbage s3cret'), '', 'an unparseable URL is dropped, not shown');
});

test('readJobContext: reads JOB_RESPONSE_FILE; unset, missing or truncated files are system failures', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-ctx-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'response.json');
  await writeFile(file, JSON.stringify(RESPONSE), { mode: 0o600 });
  assert.equal((await readJobContext({ JOB_RESPONSE_FILE: file })).projectPath.value, 'group/app');

  await assert.rejects(readJobContext({}), (e: unknown) => e instanceof SystemFailure && /JOB_RESPONSE_FILE is not set.*executor = "custom"/.test(e.message));
  await assert.rejects(readJobContext({ JOB_RESPONSE_FILE: '' }), /JOB_RESPONSE_FILE is not set/);
  await assert.rejects(
    readJobContext({ JOB_RESPONSE_FILE: join(dir, 'gone.json') }),
    (e: unknown) => e instanceof SystemFailure && e.message.includes('cannot be read (ENOENT)'),
  );
  const truncated = JSON.stringify(RESPONSE).slice(0, 50);
  await writeFile(file, truncated);
  await assert.rejects(readJobContext({ JOB_RESPONSE_FILE: file }), (e: unknown) => {
    assert.ok(e instanceof SystemFailure);
    assert.equal(e.message, `job response file ${file} is not valid JSON (50 bytes; truncated?)`);
    assert.ok(!e.message.includes('glcbt'), 'file content is not echoed');
    return true;
  });
});

test('runner generations: absent, zero and null fields are "not sent", never made up', () => {
  const v14 = jobContextFromResponse(
    {
      id: 5,
      job_info: { name: 'b', stage: 't', project_id: 9, project_name: 'app' },
      git_info: {
        repo_url: 'https://gitlab-ci-token:x@h.example/acme/app.git',
        ref: 'main',
        sha: 'a'.repeat(40),
        before_sha: '',
        ref_type: 'branch',
        refspecs: [],
        depth: 20,
      },
      runner_info: { timeout: 60 },
    },
    'r',
  );
  assert.equal(v14.pipelineId, undefined);
  assert.equal(v14.protectedRef, undefined);
  assert.deepEqual(v14.runnerFields, { gitProtected: false, projectFullPath: false, pipelineId: false });
  assert.equal(v14.projectPath.field, 'git_info.repo_url');
  const v19OldGitlab = jobContextFromResponse(
    {
      id: 5,
      job_info: { project_id: 9, project_full_path: '', pipeline_id: 0, namespace_id: 0, user_id: 0 },
      git_info: { repo_url: 'https://gitlab-ci-token:x@h.example/acme/app.git', ref: 'main', protected: null },
    },
    'r',
  );
  assert.equal(v19OldGitlab.pipelineId, undefined, 'pipeline_id 0 means GitLab did not send it');
  assert.equal(v19OldGitlab.namespaceId, undefined);
  assert.equal(v19OldGitlab.userId, undefined);
  assert.equal(v19OldGitlab.protectedRef, undefined, 'protected null means GitLab did not send it');
  assert.deepEqual(v19OldGitlab.runnerFields, { gitProtected: true, projectFullPath: true, pipelineId: true });
  assert.equal(v19OldGitlab.projectPath.value, 'acme/app', 'empty project_full_path falls back to the clone URL');
  const v19 = jobContextFromResponse(
    {
      id: 5,
      job_info: { project_id: 9, project_full_path: 'acme/app', pipeline_id: 77, namespace_id: 3, root_namespace_id: 2, user_id: 4 },
      git_info: { ref: 'refs/merge-requests/7/merge', protected: false },
    },
    'r',
  );
  assert.deepEqual([v19.pipelineId?.value, v19.namespaceId?.value, v19.rootNamespaceId?.value, v19.userId?.value], [77, 3, 2, 4]);
  assert.deepEqual(v19.protectedRef, { value: false, source: 'response-file', field: 'git_info.protected' });
  assert.deepEqual(v19.mergeRequest, { iid: 7, kind: 'merge' });
  assert.equal(v19.projectPath.field, 'job_info.project_full_path');
});

test('project path under a relative URL root: the root is not part of the path', () => {
  const doc = { id: 5, job_info: { project_id: 9 }, git_info: { repo_url: 'https://gitlab-ci-token:x@host.example/gitlab/group/app.git', ref: 'main' } };
  assert.equal(jobContextFromResponse(doc, 'r', { gitlabUrl: 'https://host.example/gitlab' }).projectPath.value, 'group/app');
  assert.equal(jobContextFromResponse(doc, 'r', { gitlabUrl: 'https://host.example/gitlab/' }).projectPath.value, 'group/app');
  assert.equal(
    jobContextFromResponse(doc, 'r', { gitlabUrl: 'https://host.example' }).projectPath.value,
    'gitlab/group/app',
    'no root configured: a group named gitlab',
  );
  assert.equal(projectPathFromRepoUrl('https://h/gitlab/gitlab/app.git', 'https://h/gitlab'), 'gitlab/app');
  assert.equal(projectPathFromRepoUrl('https://h/other/app.git', 'https://h/gitlab'), 'other/app', 'a URL outside the root is kept whole');
});
