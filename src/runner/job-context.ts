// Reads JOB_RESPONSE_FILE into the trusted job context: only fields GitLab sets, never its variables list.

import { readFile } from 'node:fs/promises';
import { SystemFailure } from '../core/exit-codes.js';
import type { Fact, JobContext } from './job-context-types.js';
import { parseMergeRequestRef } from './merge-request-ref.js';

const fromResponse = <T>(value: T, field?: string): Fact<T> => ({ value, source: 'response-file', ...(field !== undefined ? { field } : {}) });

export interface ResponseOptions {
  /** [gitlab].url: its path is GitLab's relative URL root, which is not part of a project path. */
  gitlabUrl?: string;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A positive id; 0 is what a runner writes for a field GitLab did not send, so it means "absent". */
function positive(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n > 0 ? n : undefined;
}

/** The URL path of GitLab's relative URL root ("" for none), e.g. "gitlab" for https://host/gitlab. */
function urlRoot(gitlabUrl: string | undefined): string {
  if (gitlabUrl === undefined || gitlabUrl === '') return '';
  try {
    return new URL(gitlabUrl).pathname.replace(/^\/+|\/+$/g, '');
  } catch {
    return '';
  }
}

/**
 * group/project from a clone URL such as https://gitlab-ci-token:TOKEN@host/group/project.git (token dropped).
 * Under a relative URL root ([gitlab].url = https://host/gitlab) the root is not part of the project path.
 */
export function projectPathFromRepoUrl(repoUrl: string, gitlabUrl?: string): string | undefined {
  try {
    let path = decodeURIComponent(new URL(repoUrl).pathname.replace(/^\/+/, '').replace(/\.git$/, ''));
    const root = urlRoot(gitlabUrl);
    if (root !== '' && path.startsWith(`${root}/`)) path = path.slice(root.length + 1);
    return path !== '' ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The clone URL without credentials, safe to show or record. */
export function redactRepoUrl(repoUrl: string): string {
  try {
    const u = new URL(repoUrl);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '';
  }
}

/** Builds the context from the response file's parsed JSON; throws SystemFailure naming what is missing. */
export function jobContextFromResponse(doc: unknown, file: string, opts: ResponseOptions = {}): JobContext {
  const root = obj(doc);
  const jobInfo = obj(root.job_info);
  const gitInfo = obj(root.git_info);
  const runnerInfo = obj(root.runner_info);
  const repoUrl = text(gitInfo.repo_url) ?? '';
  const fullPath = text(jobInfo.project_full_path);
  const projectPath = fullPath ?? projectPathFromRepoUrl(repoUrl, opts.gitlabUrl);
  const missing: string[] = [];
  const jobId = num(root.id);
  const projectId = num(jobInfo.project_id);
  const ref = text(gitInfo.ref);
  if (jobId === undefined) missing.push('id');
  if (projectId === undefined) missing.push('job_info.project_id');
  if (projectPath === undefined) missing.push('job_info.project_full_path (or git_info.repo_url)');
  if (ref === undefined) missing.push('git_info.ref');
  if (missing.length > 0 || jobId === undefined || projectId === undefined || projectPath === undefined || ref === undefined) {
    throw new SystemFailure(`job response file ${file} lacks ${missing.join(', ')}: is this runner's GitLab too old, or the file damaged?`);
  }
  const timeout = num(runnerInfo.timeout);
  const optional = (v: unknown, field: string): Fact<number> | undefined => {
    const n = positive(v);
    return n !== undefined ? fromResponse(n, field) : undefined;
  };
  const isProtected = gitInfo.protected;
  return {
    jobId: fromResponse(jobId, 'id'),
    projectId: fromResponse(projectId, 'job_info.project_id'),
    pipelineId: optional(jobInfo.pipeline_id, 'job_info.pipeline_id'),
    projectPath: fromResponse(projectPath, fullPath !== undefined ? 'job_info.project_full_path' : 'git_info.repo_url'),
    projectName: fromResponse(text(jobInfo.project_name) ?? projectPath.split('/').pop() ?? ''),
    jobName: fromResponse(text(jobInfo.name) ?? ''),
    stage: fromResponse(text(jobInfo.stage) ?? ''),
    ref: fromResponse(ref, 'git_info.ref'),
    refType: fromResponse(text(gitInfo.ref_type) ?? 'branch', 'git_info.ref_type'),
    sha: fromResponse(text(gitInfo.sha) ?? '', 'git_info.sha'),
    repoUrl: fromResponse(redactRepoUrl(repoUrl), 'git_info.repo_url'),
    protectedRef: typeof isProtected === 'boolean' ? fromResponse(isProtected, 'git_info.protected') : undefined,
    namespaceId: optional(jobInfo.namespace_id, 'job_info.namespace_id'),
    rootNamespaceId: optional(jobInfo.root_namespace_id, 'job_info.root_namespace_id'),
    userId: optional(jobInfo.user_id, 'job_info.user_id'),
    mergeRequest: parseMergeRequestRef(ref),
    runnerFields: {
      gitProtected: 'protected' in gitInfo,
      projectFullPath: 'project_full_path' in jobInfo,
      pipelineId: 'pipeline_id' in jobInfo,
    },
    timeoutSeconds: timeout !== undefined && timeout > 0 ? fromResponse(timeout) : undefined,
    idToken: undefined,
  };
}

/** Reads and parses JOB_RESPONSE_FILE. Missing, unreadable or truncated → SystemFailure. */
export async function readJobContext(env: NodeJS.ProcessEnv, opts: ResponseOptions = {}): Promise<JobContext> {
  const file = env.JOB_RESPONSE_FILE;
  if (file === undefined || file === '') {
    throw new SystemFailure('JOB_RESPONSE_FILE is not set: jobrole stages must be started by gitlab-runner (executor = "custom")');
  }
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    throw new SystemFailure(`job response file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    throw new SystemFailure(`job response file ${file} is not valid JSON (${raw.length} bytes; truncated?)`, { cause: err });
  }
  return jobContextFromResponse(doc, file, opts);
}
