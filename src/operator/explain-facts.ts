// For `jobrole explain`: the trusted facts with their sources, and the CI_* job variables that authorization ignores.

import type { VerifiedClaims } from '../identity/claims.js';
import type { Fact, JobContext } from '../runner/job-context-types.js';
import type { PolicyFacts } from '../policy/facts-types.js';
import { runnerGeneration } from '../runner/merge-request-ref.js';

interface Trusted {
  value: string;
  source: string;
}

const fact = (f: Fact<string | number>): Trusted => ({ value: String(f.value), source: f.source });
const maybe = (f: Fact<string | number> | undefined): Trusted | undefined => (f === undefined ? undefined : fact(f));
const claim = (claims: VerifiedClaims | undefined, v: string | boolean | undefined): Trusted | 'no-token' | undefined =>
  claims === undefined ? 'no-token' : v === undefined ? undefined : { value: String(v), source: 'id-token' };

/** Predefined variables a job author can override, and the trusted fact each one pretends to be. */
const VARIABLES: Array<[string, (ctx: JobContext, c: VerifiedClaims | undefined) => Trusted | 'no-token' | undefined]> = [
  ['CI_JOB_ID', (ctx) => fact(ctx.jobId)],
  ['CI_PROJECT_ID', (ctx) => fact(ctx.projectId)],
  [
    'CI_PIPELINE_ID',
    (ctx) =>
      maybe(ctx.pipelineId) ?? (ctx.idToken?.claims.pipeline_id !== undefined ? { value: ctx.idToken.claims.pipeline_id, source: 'id-token' } : undefined),
  ],
  ['CI_PROJECT_PATH', (ctx) => fact(ctx.projectPath)],
  ['CI_PROJECT_NAME', (ctx) => fact(ctx.projectName)],
  ['CI_JOB_NAME', (ctx) => fact(ctx.jobName)],
  ['CI_JOB_STAGE', (ctx) => fact(ctx.stage)],
  ['CI_COMMIT_REF_NAME', (ctx) => fact(ctx.ref)],
  ['CI_COMMIT_BRANCH', (ctx) => (ctx.refType.value === 'branch' ? fact(ctx.ref) : { value: '(not a branch)', source: ctx.refType.source })],
  ['CI_COMMIT_TAG', (ctx) => (ctx.refType.value === 'tag' ? fact(ctx.ref) : { value: '(not a tag)', source: ctx.refType.source })],
  ['CI_COMMIT_SHA', (ctx) => fact(ctx.sha)],
  [
    'CI_COMMIT_REF_PROTECTED',
    (ctx, c) => (ctx.protectedRef !== undefined ? { value: String(ctx.protectedRef.value), source: ctx.protectedRef.source } : claim(c, c?.ref_protected)),
  ],
  ['CI_ENVIRONMENT_NAME', (_, c) => claim(c, c?.environment)],
  ['CI_ENVIRONMENT_TIER', (_, c) => claim(c, c?.deployment_tier)],
  ['CI_PIPELINE_SOURCE', (_, c) => claim(c, c?.pipeline_source)],
  ['GITLAB_USER_LOGIN', (_, c) => claim(c, c?.user_login)],
];

const q = (v: string) => JSON.stringify(v.length > 120 ? `${v.slice(0, 117)}...` : v);

const where = (f: { source: string; field?: string }) => `[${f.source}${f.field !== undefined ? ` ${f.field}` : ''}]`;

/** One line per trusted fact: name, value, source (and the field it was read from). */
export function trustedFactLines(ctx: JobContext): string[] {
  const rows: Array<[string, Fact<string | number | boolean> | undefined]> = [
    ['job id', ctx.jobId],
    ['job name', ctx.jobName],
    ['stage', ctx.stage],
    ['project', ctx.projectPath],
    ['project id', ctx.projectId],
    ['pipeline id', ctx.pipelineId],
    ['namespace id', ctx.namespaceId],
    ['user id', ctx.userId],
    ['ref', ctx.ref],
    ['ref type', ctx.refType],
    ['protected', ctx.protectedRef],
    ['sha', ctx.sha],
    ['timeout (s)', ctx.timeoutSeconds],
  ];
  const lines = rows
    .filter(([, f]) => f !== undefined)
    .map(([name, f]) => `  ${name.padEnd(14)} ${(typeof f?.value === 'string' ? q(f.value) : String(f?.value)).padEnd(40)} ${f !== undefined ? where(f) : ''}`);
  if (ctx.pipelineId === undefined)
    lines.push(`  ${'pipeline id'.padEnd(14)} ${'(not sent)'.padEnd(40)} [response-file: job_info.pipeline_id needs gitlab-runner >= 19.0]`);
  if (ctx.protectedRef === undefined) {
    const why = ctx.runnerFields.gitProtected ? 'git_info.protected is null: GitLab older than 18.3' : 'no git_info.protected: gitlab-runner older than 18.3';
    lines.push(`  ${'protected'.padEnd(14)} ${'(not sent)'.padEnd(40)} [response-file: ${why}]`);
  }
  const c = ctx.idToken?.claims;
  if (c !== undefined) {
    const claims: Array<[string, string | boolean | undefined]> = [
      ['project_path', c.project_path],
      ['job_project_path', c.job_project_path],
      ['ref', c.ref],
      ['ref_path', c.ref_path],
      ['ref_protected', c.ref_protected],
      ['sha', c.sha],
      ['pipeline_id', c.pipeline_id],
      ['environment', c.environment],
      ['environment_protected', c.environment_protected],
      ['deployment_tier', c.deployment_tier],
      ['pipeline_source', c.pipeline_source],
      ['user_login', c.user_login],
      ['job_id', c.job_id],
    ];
    for (const [name, v] of claims) if (v !== undefined) lines.push(`  ${name.padEnd(14)} ${q(String(v)).padEnd(40)} [id-token ${name}]`);
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

/** What kind of pipeline this is, which runner generation wrote the file, and where protection comes from. */
export function pipelineLines(ctx: JobContext, facts: PolicyFacts): string[] {
  const out = [`  response file  written by ${runnerGeneration(ctx.runnerFields)}`];
  const mr = facts.mergeRequest;
  if (mr.value) {
    const kind =
      ctx.mergeRequest === undefined
        ? ''
        : ctx.mergeRequest.kind === 'head'
          ? ' (detached)'
          : ctx.mergeRequest.kind === 'merge'
            ? ' (merged results)'
            : ' (merge train)';
    const iid = ctx.mergeRequest !== undefined ? ` !${ctx.mergeRequest.iid}` : '';
    out.push(`  kind           merge request${iid}${kind} ${where(mr)}; refs/ref_types rules never grant it`);
    if (facts.sourceBranch !== undefined)
      out.push(`  source branch  ${q(facts.sourceBranch.value)} ${where(facts.sourceBranch)} (named by whoever opened the merge request)`);
    out.push('  binding        token and response file are matched on job id, project, sha and pipeline source, not on ref');
  } else {
    out.push(`  kind           ${facts.refType.value} pipeline ${where(mr)}`);
  }
  const t = facts.tokenProjects;
  if (t !== undefined && (t.projectPath !== facts.project.value || (t.jobProjectPath !== undefined && t.jobProjectPath !== facts.project.value))) {
    out.push(`  fork           the ID token's project_path ${q(t.projectPath)} is the merge request's source project; a projects rule must match it too`);
  }
  out.push(
    facts.protected !== undefined
      ? `  protected      ${String(facts.protected.value)} ${where(facts.protected)}`
      : `  protected      unknown: ${facts.protectedProblem ?? 'not sent'}`,
  );
  return out;
}
