// For `jobrole explain`: the trusted facts with their sources, and the CI_* job variables that authorization ignores.

import type { VerifiedClaims } from '../identity/claims.js';
import type { Fact, JobContext } from '../runner/job-context-types.js';

interface Trusted {
  value: string;
  source: string;
}

const fact = (f: Fact<string | number>): Trusted => ({ value: String(f.value), source: f.source });
const claim = (claims: VerifiedClaims | undefined, v: string | boolean | undefined): Trusted | 'no-token' | undefined =>
  claims === undefined ? 'no-token' : v === undefined ? undefined : { value: String(v), source: 'id-token' };

/** Predefined variables a job author can override, and the trusted fact each one pretends to be. */
const VARIABLES: Array<[string, (ctx: JobContext, c: VerifiedClaims | undefined) => Trusted | 'no-token' | undefined]> = [
  ['CI_JOB_ID', (ctx) => fact(ctx.jobId)],
  ['CI_PROJECT_ID', (ctx) => fact(ctx.projectId)],
  ['CI_PIPELINE_ID', (ctx) => fact(ctx.pipelineId)],
  ['CI_PROJECT_PATH', (ctx) => fact(ctx.projectPath)],
  ['CI_PROJECT_NAME', (ctx) => fact(ctx.projectName)],
  ['CI_JOB_NAME', (ctx) => fact(ctx.jobName)],
  ['CI_JOB_STAGE', (ctx) => fact(ctx.stage)],
  ['CI_COMMIT_REF_NAME', (ctx) => fact(ctx.ref)],
  ['CI_COMMIT_BRANCH', (ctx) => (ctx.refType.value === 'branch' ? fact(ctx.ref) : { value: '(not a branch)', source: ctx.refType.source })],
  ['CI_COMMIT_TAG', (ctx) => (ctx.refType.value === 'tag' ? fact(ctx.ref) : { value: '(not a tag)', source: ctx.refType.source })],
  ['CI_COMMIT_SHA', (ctx) => fact(ctx.sha)],
  ['CI_COMMIT_REF_PROTECTED', (_, c) => claim(c, c?.ref_protected ?? false)],
  ['CI_ENVIRONMENT_NAME', (_, c) => claim(c, c?.environment)],
  ['CI_ENVIRONMENT_TIER', (_, c) => claim(c, c?.deployment_tier)],
  ['CI_PIPELINE_SOURCE', (_, c) => claim(c, c?.pipeline_source)],
  ['GITLAB_USER_LOGIN', (_, c) => claim(c, c?.user_login)],
];

const q = (v: string) => JSON.stringify(v.length > 120 ? `${v.slice(0, 117)}...` : v);

/** One line per trusted fact: name, value, source. */
export function trustedFactLines(ctx: JobContext): string[] {
  const rows: Array<[string, Fact<string | number> | undefined]> = [
    ['job id', ctx.jobId], ['job name', ctx.jobName], ['stage', ctx.stage], ['project', ctx.projectPath],
    ['project id', ctx.projectId], ['pipeline id', ctx.pipelineId], ['ref', ctx.ref], ['ref type', ctx.refType],
    ['sha', ctx.sha], ['timeout (s)', ctx.timeoutSeconds],
  ];
  const lines = rows.filter(([, f]) => f !== undefined).map(([name, f]) => `  ${name.padEnd(14)} ${(typeof f?.value === 'number' ? String(f.value) : q(String(f?.value))).padEnd(40)} [${f?.source}]`);
  const c = ctx.idToken?.claims;
  if (c !== undefined) {
    const claims: Array<[string, string | boolean | undefined]> = [
      ['project_path', c.project_path], ['job_project_path', c.job_project_path], ['ref', c.ref], ['ref_protected', c.ref_protected ?? false],
      ['environment', c.environment], ['environment_protected', c.environment_protected], ['deployment_tier', c.deployment_tier],
      ['pipeline_source', c.pipeline_source], ['user_login', c.user_login], ['job_id', c.job_id],
    ];
    for (const [name, v] of claims) if (v !== undefined) lines.push(`  ${name.padEnd(14)} ${q(String(v)).padEnd(40)} [id-token]`);
  }
  return lines;
}

/**
 * Job variables that claim a trusted fact but differ from it (or that only a verified ID token could vouch
 * for, when there is none): listed so the operator sees they played no part.
 */
export function ignoredVariableLines(ctx: JobContext, variables: Record<string, string>): string[] {
  const claims = ctx.idToken?.claims;
  const out: string[] = [];
  for (const [name, trusted] of VARIABLES) {
    const given = variables[name];
    if (given === undefined) continue;
    const t = trusted(ctx, claims);
    if (t === 'no-token') {
      out.push(`  ${name}=${q(given)}: ignored (job-controlled); only a verified ID token can vouch for this fact, and there is none`);
    } else if (t === undefined) {
      out.push(`  ${name}=${q(given)}: ignored (job-controlled); the verified ID token has no such claim`);
    } else if (t.value !== given) {
      out.push(`  ${name}=${q(given)}: ignored (job-controlled); trusted value ${q(t.value)} [${t.source}]`);
    }
  }
  return out;
}
