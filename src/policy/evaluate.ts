// The policy decision: (trusted facts, requested role, operator's roles) → allow, deny with reasons, or none.

import type { AllowConditions, JobroleConfig, RoleConfig } from '../config/types.js';
import type { JobContext } from '../runner/job-context-types.js';
import { anyGlob, globMatch } from './glob.js';
import { bothProjectsMatch, crossCheck } from './trusted-facts.js';
import type { PolicyFacts } from './facts-types.js';
import { factsFromJob } from './job-facts.js';

export interface Verdict {
  condition: keyof AllowConditions | 'role' | 'id-token';
  ok: boolean;
  detail: string;
}

export interface Judged {
  project: string;
  ref: string;
  refType: string;
}

export type Decision =
  | { kind: 'none' }
  | { kind: 'allow'; role: RoleConfig; requested: string; viaDefault: boolean; verdicts: Verdict[] }
  | { kind: 'deny'; requested: string; viaDefault: boolean; verdicts: Verdict[]; judged: Judged };

const list = (v: readonly string[]) => v.map((x) => JSON.stringify(x)).join(', ');
const NO_TOKEN = 'needs a verified GitLab ID token, and the job supplied none (declare id_tokens: in the job)';

function tokenFact<T>(facts: PolicyFacts, condition: Verdict['condition'], value: T | undefined, check: (v: T | undefined) => Verdict): Verdict {
  if (!facts.hasIdToken) return { condition, ok: false, detail: NO_TOKEN };
  return check(value);
}

/** A condition on one ID-token claim matched against glob patterns (environments, pipeline_sources, user_logins). */
function tokenGlob(facts: PolicyFacts, condition: Verdict['condition'], claim: string, value: string | undefined, patterns: readonly string[]): Verdict {
  return tokenFact(facts, condition, value, (v) => {
    const ok = v !== undefined && anyGlob(patterns, v);
    return { condition, ok, detail: `${claim} ${v === undefined ? '(none)' : `"${v}"`} ${ok ? 'matches' : 'does not match'} ${list(patterns)}` };
  });
}

function mergeRequestText(f: PolicyFacts): string {
  const branch = f.sourceBranch !== undefined ? `, source branch ${JSON.stringify(f.sourceBranch.value)}` : '';
  return `a merge-request pipeline (ref ${JSON.stringify(f.ref.value)}${branch}; ${f.mergeRequest.field ?? f.mergeRequest.source} [${f.mergeRequest.source}])`;
}

const MR_HINT = 'allow merge-request pipelines with pipeline_sources = ["merge_request_event"] or a role without refs/ref_types';

/** Every condition of one role judged against the facts; the role allows iff all are ok. Pure. */
export function judgeFacts(role: RoleConfig, f: PolicyFacts): Verdict[] {
  const a = role.allow;
  const out: Verdict[] = [];
  const project = f.project.value;
  if (role.strategy === 'web-identity') {
    out.push(
      f.hasIdToken
        ? { condition: 'id-token', ok: true, detail: "the role is assumed with the job's verified ID token" }
        : { condition: 'id-token', ok: false, detail: NO_TOKEN },
    );
  }
  if (a.projects !== undefined) {
    const responseOk = anyGlob(a.projects, project);
    const t = f.tokenProjects;
    const tokenOk =
      t === undefined ||
      a.projects.some((p) =>
        bothProjectsMatch({ project_path: t.projectPath, ...(t.jobProjectPath !== undefined ? { job_project_path: t.jobProjectPath } : {}) }, p, globMatch),
      );
    const differs = t !== undefined && (t.projectPath !== project || (t.jobProjectPath !== undefined && t.jobProjectPath !== project));
    const shown = differs
      ? `project "${project}" (ID token: project_path "${t.projectPath}"${t.jobProjectPath !== undefined ? `, job_project_path "${t.jobProjectPath}"` : ''})`
      : `project "${project}"`;
    out.push({
      condition: 'projects',
      ok: responseOk && tokenOk,
      detail: `${shown} ${responseOk && tokenOk ? 'matches' : 'does not match'} ${list(a.projects)}`,
    });
  }
  if (a.refs !== undefined) {
    if (f.mergeRequest.value) {
      out.push({
        condition: 'refs',
        ok: false,
        detail: `${mergeRequestText(f)} is never allowed by a refs rule: the source branch is named by whoever opened the merge request; ${MR_HINT}`,
      });
    } else {
      const ok = anyGlob(a.refs, f.ref.value);
      out.push({ condition: 'refs', ok, detail: `ref "${f.ref.value}" ${ok ? 'matches' : 'does not match'} ${list(a.refs)}` });
    }
  }
  if (a.ref_types !== undefined) {
    if (f.mergeRequest.value) {
      out.push({ condition: 'ref_types', ok: false, detail: `${mergeRequestText(f)} is neither a branch nor a tag pipeline; ${MR_HINT}` });
    } else {
      const ok = (a.ref_types as readonly string[]).includes(f.refType.value);
      out.push({ condition: 'ref_types', ok, detail: `ref type "${f.refType.value}" ${ok ? 'is' : 'is not'} one of ${list(a.ref_types)}` });
    }
  }
  if (a.protected !== undefined) {
    const want = a.protected;
    const p = f.protected;
    if (p === undefined) {
      out.push({ condition: 'protected', ok: false, detail: f.protectedProblem ?? 'nothing GitLab vouches for says whether the ref is protected' });
    } else {
      const ok = p.value === want;
      out.push({
        condition: 'protected',
        ok,
        detail: `${p.field ?? 'protected'} is ${String(p.value)} in the ${p.source === 'id-token' ? 'ID token' : 'response file'}, rule wants ${String(want)}`,
      });
    }
  }
  if (a.environments !== undefined) out.push(tokenGlob(f, 'environments', 'environment', f.environment?.value, a.environments));
  if (a.environment_protected !== undefined) {
    const want = a.environment_protected;
    out.push(
      tokenFact(f, 'environment_protected', f.environmentProtected?.value, (v) => {
        const ok = (v ?? false) === want;
        return { condition: 'environment_protected', ok, detail: `environment_protected is ${String(v ?? false)}, rule wants ${String(want)}` };
      }),
    );
  }
  if (a.deployment_tiers !== undefined) {
    const tiers = a.deployment_tiers;
    out.push(
      tokenFact(f, 'deployment_tiers', f.deploymentTier?.value, (tier) => {
        const ok = tier !== undefined && tiers.includes(tier);
        return {
          condition: 'deployment_tiers',
          ok,
          detail: `deployment_tier ${tier === undefined ? '(none)' : `"${tier}"`} ${ok ? 'is' : 'is not'} one of ${list(tiers)}`,
        };
      }),
    );
  }
  if (a.pipeline_sources !== undefined) out.push(tokenGlob(f, 'pipeline_sources', 'pipeline_source', f.pipelineSource?.value, a.pipeline_sources));
  if (a.user_logins !== undefined) out.push(tokenGlob(f, 'user_logins', 'user_login', f.userLogin?.value, a.user_logins));
  return out;
}

/** judgeFacts for a job run by this driver. */
export function judgeRole(role: RoleConfig, ctx: JobContext): Verdict[] {
  return judgeFacts(role, factsFromJob(ctx));
}

/** What a refusal names: the project and the ref, called a merge-request ref when it is one. */
export function judgedOf(f: PolicyFacts): Judged {
  return { project: f.project.value, ref: f.ref.value, refType: f.mergeRequest.value ? 'merge-request pipeline on' : f.refType.value };
}

/**
 * The decision from facts alone (e.g. a broker that sees only a verified token). `mismatches` are reasons the
 * facts' sources disagree (token vs response file); any one refuses every role. Pure: no I/O, no clock.
 */
export function evaluateFacts(
  facts: PolicyFacts,
  requested: string | undefined,
  config: Pick<JobroleConfig, 'roles' | 'job'>,
  mismatches: readonly string[] = [],
): Decision {
  const viaDefault = requested === undefined;
  const name = requested ?? (config.job.default_role !== '' ? config.job.default_role : undefined);
  if (name === undefined) return { kind: 'none' };
  const judged = judgedOf(facts);
  const role = config.roles.find((r) => r.name === name);
  if (role === undefined) {
    return {
      kind: 'deny',
      requested: name,
      viaDefault,
      judged,
      verdicts: [{ condition: 'role', ok: false, detail: `no role named "${name}" is configured on this runner` }],
    };
  }
  const verdicts: Verdict[] = mismatches.map((detail) => ({ condition: 'id-token', ok: false, detail }));
  verdicts.push(...judgeFacts(role, facts));
  if (verdicts.every((v) => v.ok)) return { kind: 'allow', role, requested: name, viaDefault, verdicts };
  return { kind: 'deny', requested: name, viaDefault, judged, verdicts };
}

/** Reasons the job's verified token and its response file describe different jobs (empty without a token). */
export function tokenMismatches(ctx: JobContext): string[] {
  if (ctx.idToken === undefined) return [];
  return crossCheck(ctx.idToken.claims, {
    projectPath: ctx.projectPath.value,
    ref: ctx.ref.value,
    jobId: ctx.jobId.value,
    sha: ctx.sha.value,
    ...(ctx.pipelineId !== undefined ? { pipelineId: ctx.pipelineId.value } : {}),
  });
}

/** The decision for one job. Pure: no I/O, no clock. */
export function evaluatePolicy(ctx: JobContext, requested: string | undefined, config: Pick<JobroleConfig, 'roles' | 'job'>): Decision {
  return evaluateFacts(factsFromJob(ctx), requested, config, tokenMismatches(ctx));
}

/** What a refusal names: `is refused for project "p", branch "main"`, and each failed condition with why. */
export function refusal(d: Extract<Decision, { kind: 'deny' }>): { refused: string; failed: string[] } {
  return {
    refused: `is refused for project "${d.judged.project}", ${d.judged.refType} "${d.judged.ref}"`,
    failed: d.verdicts.filter((v) => !v.ok).map((v) => `${v.condition}: ${v.detail}`),
  };
}

/** The job-log message for a refusal: the role asked for, what it was judged on, and what failed. */
export function denialMessage(d: Extract<Decision, { kind: 'deny' }>, roleVariable: string): string {
  const { refused, failed } = refusal(d);
  const how = d.viaDefault ? `the default role "${d.requested}"` : `role "${d.requested}" (asked for in ${roleVariable})`;
  return [
    `${how} ${refused}:`,
    ...failed.map((f) => `  - ${f}`),
    'Facts come from GitLab (the job response and a verified ID token), never from job variables. Ask the runner operator if this project should have this role.',
  ].join('\n');
}
