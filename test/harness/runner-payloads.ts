// JOB_RESPONSE_FILE exactly as real gitlab-runner generations write it (their JobResponse struct re-encoded), per pipeline kind.
//
// The runner writes `json.NewEncoder(f).Encode(build.Job)`: a field its struct lacks is absent whatever GitLab sent,
// a field it has but GitLab did not send is its Go zero value ("" / 0 / null for *bool / {} for a struct).
// Field lists follow common/network.go at v14.1.0, v16.11.0, v18.3.0, v18.5.0 and common/spec/spec.go at v19.0.0.

import type { JobSteps } from './types.js';

export const RUNNER_GENERATIONS = ['14.1', '16.11', '18.3', '18.5', '19.0'] as const;
export type RunnerGeneration = (typeof RUNNER_GENERATIONS)[number];

export const PIPELINE_KINDS = ['branch', 'tag', 'detached-mr', 'merged-results', 'fork-mr-in-fork', 'fork-mr-in-parent'] as const;
export type PipelineKind = (typeof PIPELINE_KINDS)[number];

/** What GitLab knows about one job of one pipeline kind: the source of both the response file and the ID token. */
export interface PipelineCase {
  kind: PipelineKind;
  jobId: number;
  pipelineId: number;
  /** The project running the job. */
  project: { id: number; path: string; namespaceId: number; rootNamespaceId: number };
  /** The merge request's source project when it differs (fork MR run in the parent). */
  sourceProject?: { id: number; path: string; namespaceId: number };
  /** pipeline.ref: branch, tag, or refs/merge-requests/<iid>/head|merge. */
  ref: string;
  refType: 'branch' | 'tag';
  /** pipeline.source_ref: the branch or tag; for MR pipelines the source branch. */
  sourceRef: string;
  /** build.protected. */
  protected: boolean;
  pipelineSource: string;
  sha: string;
  beforeSha: string;
  mrIid?: number;
  user: { id: number; login: string };
}

export interface CaseOptions {
  jobId?: number;
  pipelineId?: number;
  parent?: string;
  fork?: string;
  /** Source branch name of MR pipelines; default "main" (the name a fork can give any branch). */
  sourceBranch?: string;
  /** Whether GitLab's protection applies (branch/tag rule, or protect_merge_request_pipelines); default per kind. */
  protected?: boolean;
}

const PARENT = { id: 77, namespaceId: 7, rootNamespaceId: 7 };
const FORK = { id: 91, namespaceId: 19, rootNamespaceId: 19 };
const SHA = 'aaaabbbbccccddddeeeeffff0000111122223333';
const MERGE_SHA = '9999888877776666555544443333222211110000';

/** GitLab's facts for a job of `kind` (defaults: parent acme/app, fork mallory/app, source branch "main"). */
export function pipelineCase(kind: PipelineKind, o: CaseOptions = {}): PipelineCase {
  const parentPath = o.parent ?? 'acme/app';
  const forkPath = o.fork ?? 'mallory/app';
  const parent = { ...PARENT, path: parentPath };
  const fork = { ...FORK, path: forkPath };
  const branch = o.sourceBranch ?? 'main';
  const common = {
    jobId: o.jobId ?? 5001,
    pipelineId: o.pipelineId ?? 801,
    sha: SHA,
    beforeSha: '0000000000000000000000000000000000000000',
    user: { id: 5, login: 'alice' },
  };
  switch (kind) {
    case 'branch':
      return { ...common, kind, project: parent, ref: branch, refType: 'branch', sourceRef: branch, protected: o.protected ?? true, pipelineSource: 'push' };
    case 'tag':
      return { ...common, kind, project: parent, ref: 'v1.2.0', refType: 'tag', sourceRef: 'v1.2.0', protected: o.protected ?? true, pipelineSource: 'push' };
    case 'detached-mr':
      return {
        ...common,
        kind,
        project: parent,
        ref: 'refs/merge-requests/7/head',
        refType: 'branch',
        sourceRef: branch,
        protected: o.protected ?? false,
        pipelineSource: 'merge_request_event',
        mrIid: 7,
      };
    case 'merged-results':
      return {
        ...common,
        kind,
        project: parent,
        ref: 'refs/merge-requests/7/merge',
        refType: 'branch',
        sourceRef: branch,
        protected: o.protected ?? false,
        pipelineSource: 'merge_request_event',
        mrIid: 7,
        sha: MERGE_SHA,
      };
    case 'fork-mr-in-fork':
      // The pipeline runs in the fork on the fork's branch; the fork may protect its own "main".
      return {
        ...common,
        kind,
        project: fork,
        ref: branch,
        refType: 'branch',
        sourceRef: branch,
        protected: o.protected ?? true,
        pipelineSource: 'merge_request_event',
        mrIid: 9,
        user: { id: 66, login: 'mallory' },
      };
    case 'fork-mr-in-parent':
      // A parent member clicked "Run pipeline": the parent runs the fork's code; never protected.
      return {
        ...common,
        kind,
        project: parent,
        sourceProject: fork,
        ref: 'refs/merge-requests/9/head',
        refType: 'branch',
        sourceRef: branch,
        protected: false,
        pipelineSource: 'merge_request_event',
        mrIid: 9,
      };
  }
}

export interface PayloadOptions {
  /** [gitlab].url; may carry a relative URL root such as https://host/gitlab. */
  gitlabUrl?: string;
  /** GitLab older than the runner: fields only newer GitLab sends are zero values. Default: GitLab as new as the runner. */
  gitlabSends?: { protected?: boolean; projectFullPath?: boolean; pipelineId?: boolean };
  steps?: JobSteps;
  timeout?: number;
  /** User variables appended after the predefined ones. */
  variables?: Record<string, string>;
}

const has = (gen: RunnerGeneration, min: RunnerGeneration) => RUNNER_GENERATIONS.indexOf(gen) >= RUNNER_GENERATIONS.indexOf(min);

const pub = (key: string, value: string) => ({ key, value, public: true, file: false, masked: false, raw: false });

/** The predefined variables GitLab sends for the case (what a job could also set itself). */
function variablesFor(c: PipelineCase, gitlabUrl: string, token: string): Array<ReturnType<typeof pub>> {
  const projectUrl = `${gitlabUrl}/${c.project.path}`;
  const out = [
    pub('CI_PIPELINE_ID', String(c.pipelineId)),
    pub('CI_PIPELINE_SOURCE', c.pipelineSource),
    pub('CI_JOB_ID', String(c.jobId)),
    { key: 'CI_JOB_TOKEN', value: token, public: false, file: false, masked: true, raw: false },
    pub('CI_COMMIT_SHA', c.sha),
    pub('CI_COMMIT_REF_NAME', c.sourceRef),
    pub('CI_COMMIT_REF_PROTECTED', String(c.protected)),
    pub(c.refType === 'tag' ? 'CI_COMMIT_TAG' : 'CI_COMMIT_BRANCH', c.sourceRef),
    pub('CI_PROJECT_ID', String(c.project.id)),
    pub('CI_PROJECT_PATH', c.project.path),
    pub('CI_PROJECT_URL', projectUrl),
    pub('CI_SERVER_URL', gitlabUrl),
    pub('GITLAB_USER_LOGIN', c.user.login),
  ];
  if (c.mrIid !== undefined) {
    // GitLab does not set CI_COMMIT_BRANCH in MR pipelines; the MR variables name source and target.
    const i = out.findIndex((v) => v.key === 'CI_COMMIT_BRANCH');
    if (i >= 0) out.splice(i, 1);
    out.push(
      pub('CI_MERGE_REQUEST_IID', String(c.mrIid)),
      pub('CI_MERGE_REQUEST_SOURCE_BRANCH_NAME', c.sourceRef),
      pub('CI_MERGE_REQUEST_TARGET_BRANCH_NAME', 'main'),
      pub('CI_MERGE_REQUEST_SOURCE_PROJECT_PATH', (c.sourceProject ?? c.project).path),
      pub('CI_MERGE_REQUEST_PROJECT_PATH', c.kind === 'fork-mr-in-fork' ? 'acme/app' : c.project.path),
    );
  }
  return out;
}

/** JOB_RESPONSE_FILE content as runner `gen` writes it for case `c`. */
export function runnerPayload(gen: RunnerGeneration, c: PipelineCase, o: PayloadOptions = {}): Record<string, unknown> {
  const gitlabUrl = (o.gitlabUrl ?? 'https://gitlab.example.com').replace(/\/+$/, '');
  const sends = { protected: true, projectFullPath: true, pipelineId: true, ...o.gitlabSends };
  const token = `glcbt-64_payload${c.jobId}token`;
  const u = new URL(gitlabUrl);
  const repoUrl = `${u.protocol}//gitlab-ci-token:${token}@${u.host}${u.pathname.replace(/\/+$/, '')}/${c.project.path}.git`;
  const timeout = o.timeout ?? 3600;
  const steps = o.steps ?? { script: ['echo hello'] };
  const mr = c.mrIid !== undefined && c.ref.startsWith('refs/merge-requests/');
  const refspecs = [`+refs/pipelines/${c.pipelineId}:refs/pipelines/${c.pipelineId}`];
  if (!mr) refspecs.push(c.refType === 'tag' ? `+refs/tags/${c.ref}:refs/tags/${c.ref}` : `+refs/heads/${c.ref}:refs/remotes/origin/${c.ref}`);

  // job_info, in struct order.
  const jobInfo: Record<string, unknown> = { name: 'deploy', stage: 'deploy' };
  if (has(gen, '19.0')) jobInfo.pipeline_id = sends.pipelineId ? c.pipelineId : 0;
  jobInfo.project_id = c.project.id;
  jobInfo.project_name = c.project.path.split('/').pop();
  if (has(gen, '18.5')) {
    Object.assign(jobInfo, {
      project_full_path: sends.projectFullPath ? c.project.path : '',
      namespace_id: sends.projectFullPath ? c.project.namespaceId : 0,
      root_namespace_id: sends.projectFullPath ? c.project.rootNamespaceId : 0,
      organization_id: sends.projectFullPath ? 1 : 0,
      instance_id: sends.projectFullPath ? 'a1b2c3' : '',
      instance_uuid: sends.projectFullPath ? '8d3b6e8e-2f3c-4f61-9c4e-1f2a3b4c5d6e' : '',
      user_id: sends.projectFullPath ? c.user.id : 0,
    });
  }
  if (has(gen, '16.11')) Object.assign(jobInfo, { time_in_queue_seconds: 1.25, project_jobs_running_on_instance_runners_count: '+Inf' });
  if (has(gen, '18.3')) Object.assign(jobInfo, { queue_size: 0, queue_depth: 0 });

  const gitInfo: Record<string, unknown> = { repo_url: repoUrl };
  if (has(gen, '16.11')) gitInfo.repo_object_format = 'sha1';
  Object.assign(gitInfo, { ref: c.ref, sha: c.sha, before_sha: c.beforeSha, ref_type: c.refType, refspecs, depth: 20 });
  if (has(gen, '18.3')) gitInfo.protected = sends.protected ? c.protected : null;

  const step = (name: string, script: string[], when: string) => ({ name, script, timeout, when, allow_failure: false });
  // executor_opts is a struct: omitempty never drops it (16.11: docker only; 18.3+: docker and kubernetes).
  const image: Record<string, unknown> = { name: '' };
  if (has(gen, '16.11')) image.executor_opts = { docker: { platform: '', user: '' }, ...(has(gen, '18.3') ? { kubernetes: { user: '' } } : {}) };
  const features: Record<string, unknown> = { trace_sections: true };
  if (has(gen, '16.11')) features.token_mask_prefixes = ['glpat-', 'glcbt-'];
  features.failure_reasons = ['script_failure', 'runner_system_failure', 'job_execution_timeout'];
  if (has(gen, '19.0')) features.tracing = null;

  const payload: Record<string, unknown> = {
    id: c.jobId,
    token,
    allow_git_fetch: true,
    job_info: jobInfo,
    git_info: gitInfo,
    runner_info: { timeout },
  };
  if (has(gen, '19.0')) payload.inputs = {};
  Object.assign(payload, {
    variables: [...variablesFor(c, gitlabUrl, token), ...Object.entries(o.variables ?? {}).map(([k, v]) => pub(k, v))],
    steps: [step('script', steps.script, 'on_success'), ...(steps.afterScript ? [step('after_script', steps.afterScript, 'always')] : [])],
    image,
    // GitLab sends [] for these lists (decoded to empty slices, re-encoded as []); artifacts null when the job has none.
    services: [],
    artifacts: null,
    cache: [],
    credentials: [],
    dependencies: [],
    features,
  });
  if (has(gen, '18.3') && !has(gen, '19.0')) payload.run = '';
  if (has(gen, '18.3')) payload.policy_options = { execution_policy_job: false, policy_name: '' };
  if (has(gen, '19.0')) payload.suspend_options = {};
  return payload;
}

export type GitlabTokenVersion = '18.2.1' | '18.2.2' | '18.3';

/**
 * The claims GitLab puts in the job's ID token (lib/gitlab/ci/jwt.rb, jwt_v2.rb, UserProjectTokenClaims), for a
 * GitLab of `version`: project_path is the MR source project from 18.2.2, job_project_* exist from 18.3.
 */
export function gitlabTokenClaims(c: PipelineCase, audience: string, issuerHost: string, version: GitlabTokenVersion = '18.3'): Record<string, unknown> {
  const source = version === '18.2.1' ? c.project : (c.sourceProject ?? c.project);
  const namespacePath = (p: string) => p.slice(0, p.lastIndexOf('/'));
  const refPath = c.refType === 'tag' ? `refs/tags/${c.sourceRef}` : `refs/heads/${c.sourceRef}`;
  const claims: Record<string, unknown> = {
    aud: audience,
    sub: `project_path:${source.path}:ref_type:${c.refType}:ref:${c.sourceRef}`,
    namespace_id: String(source.namespaceId),
    namespace_path: namespacePath(source.path),
    project_id: String(source.id),
    project_path: source.path,
    user_id: String(c.user.id),
    user_login: c.user.login,
    user_email: `${c.user.login}@example.com`,
    user_access_level: c.kind === 'fork-mr-in-fork' ? 'owner' : 'developer',
    pipeline_id: String(c.pipelineId),
    pipeline_source: c.pipelineSource,
    job_id: String(c.jobId),
    ref: c.sourceRef,
    ref_type: c.refType,
    ref_path: refPath,
    ref_protected: String(c.protected),
    runner_id: 12,
    runner_environment: 'self-hosted',
    sha: c.sha,
    project_visibility: 'public',
    ci_config_ref_uri: `${issuerHost}/${c.project.path}//.gitlab-ci.yml@${refPath}`,
    ci_config_sha: c.sha,
  };
  if (version === '18.3') {
    Object.assign(claims, {
      job_project_id: String(c.project.id),
      job_project_path: c.project.path,
      job_namespace_id: String(c.project.namespaceId),
      job_namespace_path: namespacePath(c.project.path),
    });
  }
  return claims;
}
