// Turns RunJobOptions' response/variables into the response file content and the facts the runner derives from it.
import { jsonText } from '../fakes/json-text.js';
import { buildJobResponse } from './job-response.js';
import type { JobVariable, RunJobOptions } from './types.js';

export interface JobFacts {
  /** Exactly what goes into JOB_RESPONSE_FILE. */
  responseContent: string;
  /** The response's variables (user variables last, so they win). */
  variables: JobVariable[];
  /** Project path as the runner derives the build dir: from git_info.repo_url's path. */
  projectPath: string;
  timeoutSec: number;
  sha: string;
  ref: string;
}

type Loose = Record<string, unknown>;

function asObject(v: unknown): Loose | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : undefined;
}

function readVariables(v: unknown): JobVariable[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((e): JobVariable[] => {
    const o = asObject(e);
    if (!o || typeof o['key'] !== 'string') return [];
    const out: JobVariable = { key: o['key'], value: jsonText(o['value']) };
    if (o['file'] === true) out.file = true;
    if (o['masked'] === true) out.masked = true;
    if (typeof o['public'] === 'boolean') out.public = o['public'];
    return [out];
  });
}

function projectPathOf(resp: Loose | undefined, vars: JobVariable[]): string {
  const git = asObject(resp?.['git_info']);
  const repoUrl = git?.['repo_url'];
  if (typeof repoUrl === 'string') {
    try {
      const p = new URL(repoUrl).pathname.replace(/^\/+/, '').replace(/\.git$/, '');
      if (p) return p;
    } catch {
      // fall through to the other sources
    }
  }
  const full = asObject(resp?.['job_info'])?.['project_full_path'];
  if (typeof full === 'string' && full) return full;
  return vars.find((v) => v.key === 'CI_PROJECT_PATH')?.value || 'project';
}

export function resolveJobFacts(opts: RunJobOptions): JobFacts {
  const userVars = Object.entries(opts.variables ?? {}).map(([key, value]): JobVariable => ({ key, value, public: true, masked: false }));
  let resp: Loose | undefined;
  let content: string;
  if (opts.response === undefined) {
    resp = buildJobResponse({ steps: opts.steps, ...(opts.variables ? { variables: opts.variables } : {}) }) as unknown as Loose;
    content = JSON.stringify(resp);
  } else if (typeof opts.response === 'string') {
    content = opts.response;
    try {
      resp = asObject(JSON.parse(content));
    } catch {
      resp = undefined;
    }
    // A verbatim string is written as given; the user variables still reach the driver and the script.
    resp = resp ? { ...resp, variables: [...readVariables(resp['variables']), ...userVars] } : { variables: userVars };
  } else {
    const given = opts.response as Loose;
    resp = { ...given, variables: [...readVariables(given['variables']), ...userVars] };
    content = JSON.stringify(resp);
  }
  const variables = readVariables(resp?.['variables']);
  const git = asObject(resp?.['git_info']);
  const timeout = asObject(resp?.['runner_info'])?.['timeout'];
  return {
    responseContent: content,
    variables,
    projectPath: projectPathOf(resp, variables),
    timeoutSec: typeof timeout === 'number' && timeout > 0 ? timeout : 3600,
    sha: typeof git?.['sha'] === 'string' ? git['sha'] : '',
    ref: typeof git?.['ref'] === 'string' ? git['ref'] : '',
  };
}
