// Builds a realistic GitLab job response (the JOB_RESPONSE_FILE content) with its predefined CI_* variables.
import type { JobSteps, JobVariable } from './types.js';

export interface JobResponseInput {
  jobId?: number;
  jobName?: string;
  stage?: string;
  projectId?: number;
  projectPath?: string;
  pipelineId?: number;
  ref?: string;
  refType?: 'branch' | 'tag';
  refProtected?: boolean;
  sha?: string;
  beforeSha?: string;
  /** Job timeout in seconds (runner_info.timeout). */
  timeout?: number;
  userLogin?: string;
  serverUrl?: string;
  token?: string;
  /** User variables, appended after the predefined ones (so they win). */
  variables?: Record<string, string>;
  steps?: JobSteps;
}

export interface JobResponse {
  id: number;
  token: string;
  allow_git_fetch: boolean;
  job_info: { name: string; stage: string; project_id: number; project_name: string; project_full_path: string; pipeline_id: number };
  git_info: { repo_url: string; ref: string; sha: string; before_sha: string; ref_type: string; refspecs: string[]; depth: number };
  runner_info: { timeout: number };
  variables: JobVariable[];
  steps: Array<{ name: string; script: string[]; timeout: number; when: string; allow_failure: boolean }>;
  image: { name: string };
  services: unknown[];
  artifacts: unknown[] | null;
  cache: unknown[] | null;
  dependencies: unknown[];
  features: Record<string, boolean>;
}

const pub = (key: string, value: string): JobVariable => ({ key, value, public: true, masked: false });

function slug(ref: string): string {
  return ref
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

export function buildJobResponse(input: JobResponseInput = {}): JobResponse {
  const jobId = input.jobId ?? 4242;
  const projectId = input.projectId ?? 77;
  const projectPath = input.projectPath ?? 'group/app';
  const pipelineId = input.pipelineId ?? 9001;
  const ref = input.ref ?? 'main';
  const refType = input.refType ?? 'branch';
  const sha = input.sha ?? '0123456789abcdef0123456789abcdef01234567';
  const beforeSha = input.beforeSha ?? '0000000000000000000000000000000000000000';
  const timeout = input.timeout ?? 3600;
  const token = input.token ?? `glcbt-64_harness${jobId}token`;
  const serverUrl = input.serverUrl ?? 'https://gitlab.example.com';
  const userLogin = input.userLogin ?? 'alice';
  const jobName = input.jobName ?? 'deploy';
  const stage = input.stage ?? 'deploy';
  const host = new URL(serverUrl).host;
  const projectName = projectPath.split('/').pop() ?? projectPath;
  const namespace = projectPath.split('/').slice(0, -1).join('/');
  const projectUrl = `${serverUrl}/${projectPath}`;
  const repoUrl = `${new URL(serverUrl).protocol}//gitlab-ci-token:${token}@${host}/${projectPath}.git`;

  const variables: JobVariable[] = [
    pub('CI_PIPELINE_ID', String(pipelineId)),
    pub('CI_PIPELINE_IID', '12'),
    pub('CI_PIPELINE_SOURCE', 'push'),
    pub('CI_PIPELINE_URL', `${projectUrl}/-/pipelines/${pipelineId}`),
    pub('CI_JOB_ID', String(jobId)),
    pub('CI_JOB_URL', `${projectUrl}/-/jobs/${jobId}`),
    pub('CI_JOB_NAME', jobName),
    pub('CI_JOB_STAGE', stage),
    { key: 'CI_JOB_TOKEN', value: token, public: false, masked: true },
    pub('CI_JOB_TIMEOUT', String(timeout)),
    pub('CI_COMMIT_SHA', sha),
    pub('CI_COMMIT_SHORT_SHA', sha.slice(0, 8)),
    pub('CI_COMMIT_BEFORE_SHA', beforeSha),
    pub('CI_COMMIT_REF_NAME', ref),
    pub('CI_COMMIT_REF_SLUG', slug(ref)),
    refType === 'tag' ? pub('CI_COMMIT_TAG', ref) : pub('CI_COMMIT_BRANCH', ref),
    pub('CI_COMMIT_REF_PROTECTED', String(input.refProtected ?? false)),
    pub('CI_DEFAULT_BRANCH', 'main'),
    pub('CI_PROJECT_ID', String(projectId)),
    pub('CI_PROJECT_NAME', projectName),
    pub('CI_PROJECT_NAMESPACE', namespace),
    pub('CI_PROJECT_PATH', projectPath),
    pub('CI_PROJECT_PATH_SLUG', slug(projectPath)),
    pub('CI_PROJECT_URL', projectUrl),
    pub('CI_PROJECT_VISIBILITY', 'private'),
    { key: 'CI_REPOSITORY_URL', value: repoUrl, public: false, masked: false },
    pub('CI_SERVER_URL', serverUrl),
    pub('CI_SERVER_HOST', host),
    pub('CI_API_V4_URL', `${serverUrl}/api/v4`),
    pub('CI', 'true'),
    pub('GITLAB_CI', 'true'),
    pub('GITLAB_USER_ID', '7'),
    pub('GITLAB_USER_LOGIN', userLogin),
    pub('GITLAB_USER_EMAIL', `${userLogin}@example.com`),
    ...Object.entries(input.variables ?? {}).map(([k, v]) => pub(k, v)),
  ];

  const steps = input.steps ?? { script: ['echo hello'] };
  return {
    id: jobId,
    token,
    allow_git_fetch: true,
    job_info: { name: jobName, stage, project_id: projectId, project_name: projectName, project_full_path: projectPath, pipeline_id: pipelineId },
    git_info: {
      repo_url: repoUrl,
      ref,
      sha,
      before_sha: beforeSha,
      ref_type: refType,
      refspecs: [refType === 'tag' ? `+refs/tags/${ref}:refs/tags/${ref}` : `+refs/heads/${ref}:refs/remotes/origin/${ref}`],
      depth: 20,
    },
    runner_info: { timeout },
    variables,
    steps: [
      { name: 'script', script: steps.script, timeout, when: 'on_success', allow_failure: false },
      ...(steps.afterScript ? [{ name: 'after_script', script: steps.afterScript, timeout, when: 'always', allow_failure: false }] : []),
    ],
    image: { name: '' },
    services: [],
    artifacts: null,
    cache: null,
    dependencies: [],
    features: { trace_sections: true },
  };
}
