// Reads JOB_RESPONSE_FILE into the trusted job context: only fields GitLab sets, never its variables list.

import { readFile } from 'node:fs/promises';
import { SystemFailure } from './exit-codes.js';
import type { Fact, JobContext } from './job-context-types.js';

const fromResponse = <T>(value: T): Fact<T> => ({ value, source: 'response-file' });

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

/** group/project from a clone URL such as https://gitlab-ci-token:TOKEN@host/group/project.git (token dropped). */
export function projectPathFromRepoUrl(repoUrl: string): string | undefined {
  try {
    const path = new URL(repoUrl).pathname.replace(/^\/+/, '').replace(/\.git$/, '');
    return path !== '' ? decodeURIComponent(path) : undefined;
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
export function jobContextFromResponse(doc: unknown, file: string): JobContext {
  const root = obj(doc);
  const jobInfo = obj(root.job_info);
  const gitInfo = obj(root.git_info);
  const runnerInfo = obj(root.runner_info);
  const repoUrl = text(gitInfo.repo_url) ?? '';
  const projectPath = text(jobInfo.project_full_path) ?? projectPathFromRepoUrl(repoUrl);
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
  return {
    jobId: fromResponse(jobId),
    projectId: fromResponse(projectId),
    pipelineId: fromResponse(num(jobInfo.pipeline_id) ?? num(root.pipeline_id) ?? 0),
    projectPath: fromResponse(projectPath),
    projectName: fromResponse(text(jobInfo.project_name) ?? projectPath.split('/').pop() ?? ''),
    jobName: fromResponse(text(jobInfo.name) ?? ''),
    stage: fromResponse(text(jobInfo.stage) ?? ''),
    ref: fromResponse(ref),
    refType: fromResponse(text(gitInfo.ref_type) ?? 'branch'),
    sha: fromResponse(text(gitInfo.sha) ?? ''),
    repoUrl: fromResponse(redactRepoUrl(repoUrl)),
    timeoutSeconds: timeout !== undefined && timeout > 0 ? fromResponse(timeout) : undefined,
    idToken: undefined,
  };
}

/** Reads and parses JOB_RESPONSE_FILE. Missing, unreadable or truncated → SystemFailure. */
export async function readJobContext(env: NodeJS.ProcessEnv): Promise<JobContext> {
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
  return jobContextFromResponse(doc, file);
}
