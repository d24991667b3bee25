// The payload builder writes exactly the keys each runner generation's struct has (common/network.go, common/spec/spec.go).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineCase, runnerPayload, type RunnerGeneration } from '../harness/runner-payloads.js';
import { jobContextFromResponse } from '../../src/runner/job-context.js';

const BASE_JOB_INFO = ['name', 'stage', 'project_id', 'project_name'];
const JOB_INFO_18_5 = [
  ...BASE_JOB_INFO,
  'project_full_path',
  'namespace_id',
  'root_namespace_id',
  'organization_id',
  'instance_id',
  'instance_uuid',
  'user_id',
  'time_in_queue_seconds',
  'project_jobs_running_on_instance_runners_count',
  'queue_size',
  'queue_depth',
];
const JOB_INFO: Record<RunnerGeneration, string[]> = {
  '14.1': BASE_JOB_INFO,
  '16.11': [...BASE_JOB_INFO, 'time_in_queue_seconds', 'project_jobs_running_on_instance_runners_count'],
  '18.3': [...BASE_JOB_INFO, 'time_in_queue_seconds', 'project_jobs_running_on_instance_runners_count', 'queue_size', 'queue_depth'],
  '18.5': JOB_INFO_18_5,
  '19.0': [...JOB_INFO_18_5, 'pipeline_id'],
};
const BASE_GIT = ['repo_url', 'ref', 'sha', 'before_sha', 'ref_type', 'refspecs', 'depth'];
const GIT_INFO: Record<RunnerGeneration, string[]> = {
  '14.1': BASE_GIT,
  '16.11': [...BASE_GIT, 'repo_object_format'],
  '18.3': [...BASE_GIT, 'repo_object_format', 'protected'],
  '18.5': [...BASE_GIT, 'repo_object_format', 'protected'],
  '19.0': [...BASE_GIT, 'repo_object_format', 'protected'],
};
const BASE_TOP = [
  'id',
  'token',
  'allow_git_fetch',
  'job_info',
  'git_info',
  'runner_info',
  'variables',
  'steps',
  'image',
  'services',
  'artifacts',
  'cache',
  'credentials',
  'dependencies',
  'features',
];
const TOP: Record<RunnerGeneration, string[]> = {
  '14.1': BASE_TOP,
  '16.11': BASE_TOP,
  '18.3': [...BASE_TOP, 'run', 'policy_options'],
  '18.5': [...BASE_TOP, 'run', 'policy_options'],
  '19.0': [...BASE_TOP, 'inputs', 'policy_options', 'suspend_options'],
};
const sorted = (o: unknown) => Object.keys(o as object).sort();

test("each generation writes its struct's keys, no more, no fewer", () => {
  for (const gen of Object.keys(JOB_INFO) as RunnerGeneration[]) {
    const p = runnerPayload(gen, pipelineCase('branch'));
    assert.deepEqual(sorted(p.job_info), [...JOB_INFO[gen]].sort(), `job_info ${gen}`);
    assert.deepEqual(sorted(p.git_info), [...GIT_INFO[gen]].sort(), `git_info ${gen}`);
    assert.deepEqual(sorted(p), [...TOP[gen]].sort(), `top level ${gen}`);
  }
});

test('a newer runner with an older GitLab writes zero values, which the driver reads as "not sent"', () => {
  const p = runnerPayload('19.0', pipelineCase('branch'), { gitlabSends: { protected: false, projectFullPath: false, pipelineId: false } });
  const ji = p.job_info as Record<string, unknown>;
  const gi = p.git_info as Record<string, unknown>;
  assert.deepEqual([ji.pipeline_id, ji.project_full_path, ji.namespace_id, ji.user_id, gi.protected], [0, '', 0, 0, null]);
  const ctx = jobContextFromResponse(p, 'r');
  assert.deepEqual([ctx.pipelineId, ctx.namespaceId, ctx.userId, ctx.protectedRef], [undefined, undefined, undefined, undefined]);
  assert.equal(ctx.projectPath.value, 'acme/app');
  assert.equal(ctx.projectPath.field, 'git_info.repo_url');
});

test('pipeline kinds: refs and refspecs as GitLab sends them', () => {
  const mr = runnerPayload('18.5', pipelineCase('merged-results')).git_info as Record<string, unknown>;
  assert.equal(mr.ref, 'refs/merge-requests/7/merge');
  assert.equal(mr.ref_type, 'branch');
  assert.deepEqual(mr.refspecs, ['+refs/pipelines/801:refs/pipelines/801']);
  const tag = runnerPayload('18.5', pipelineCase('tag')).git_info as Record<string, unknown>;
  assert.deepEqual(tag.refspecs, ['+refs/pipelines/801:refs/pipelines/801', '+refs/tags/v1.2.0:refs/tags/v1.2.0']);
  const fork = runnerPayload('18.5', pipelineCase('fork-mr-in-fork')).git_info as Record<string, unknown>;
  assert.equal(fork.ref, 'main');
  assert.match(String(fork.repo_url), /@gitlab\.example\.com\/mallory\/app\.git$/);
});
