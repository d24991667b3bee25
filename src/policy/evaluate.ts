// The policy decision: (trusted job context, requested role, operator's roles) → allow, deny with reasons, or none.

import type { AllowConditions, JobroleConfig, RoleConfig } from '../config/types.js';
import type { VerifiedClaims } from '../identity/claims.js';
import type { JobContext } from '../runner/job-context-types.js';
import { anyGlob, globMatch } from './glob.js';
import { bothProjectsMatch, crossCheck } from '../identity/trusted-facts.js';

export interface Verdict {
  condition: keyof AllowConditions | 'role' | 'id-token';
  ok: boolean;
  detail: string;
}

export type Decision =
  | { kind: 'none' }
  | { kind: 'allow'; role: RoleConfig; requested: string; viaDefault: boolean; verdicts: Verdict[] }
  | { kind: 'deny'; requested: string; viaDefault: boolean; verdicts: Verdict[]; judged: { project: string; ref: string; refType: string } };

const list = (v: readonly string[]) => v.map((x) => JSON.stringify(x)).join(', ');

function tokenFact(
  claims: VerifiedClaims | undefined,
  condition: Verdict['condition'],
  check: (c: VerifiedClaims) => Verdict,
): Verdict {
  if (claims === undefined) {
    return { condition, ok: false, detail: 'needs a verified GitLab ID token, and the job supplied none (declare id_tokens: in the job)' };
  }
  return check(claims);
}

/** Every condition of one role judged against the context; the role allows iff all are ok. */
export function judgeRole(role: RoleConfig, ctx: JobContext): Verdict[] {
  const a = role.allow;
  const claims = ctx.idToken?.claims;
  const out: Verdict[] = [];
  const project = ctx.projectPath.value;
  if (role.strategy === 'web-identity') {
    out.push(tokenFact(claims, 'id-token', () => ({ condition: 'id-token', ok: true, detail: 'the role is assumed with the job\'s verified ID token' })));
  }
  if (a.projects !== undefined) {
    const responseOk = anyGlob(a.projects, project);
    const tokenOk = claims === undefined || a.projects.some((p) => bothProjectsMatch(claims, p, globMatch));
    const shown = claims?.job_project_path !== undefined && claims.job_project_path !== claims.project_path
      ? `project "${project}" (ID token: project_path "${claims.project_path}", job_project_path "${claims.job_project_path}")`
      : `project "${project}"`;
    out.push({ condition: 'projects', ok: responseOk && tokenOk, detail: `${shown} ${responseOk && tokenOk ? 'matches' : 'does not match'} ${list(a.projects)}` });
  }
  if (a.refs !== undefined) {
    const ok = anyGlob(a.refs, ctx.ref.value);
    out.push({ condition: 'refs', ok, detail: `ref "${ctx.ref.value}" ${ok ? 'matches' : 'does not match'} ${list(a.refs)}` });
  }
  if (a.ref_types !== undefined) {
    const ok = (a.ref_types as readonly string[]).includes(ctx.refType.value);
    out.push({ condition: 'ref_types', ok, detail: `ref type "${ctx.refType.value}" ${ok ? 'is' : 'is not'} one of ${list(a.ref_types)}` });
  }
  if (a.protected !== undefined) {
    const want = a.protected;
    out.push(tokenFact(claims, 'protected', (c) => {
      const ok = c.ref_protected === want;
      return { condition: 'protected', ok, detail: `ref_protected is ${String(c.ref_protected ?? false)} in the ID token, rule wants ${String(want)}` };
    }));
  }
  if (a.environments !== undefined) {
    const envs = a.environments;
    out.push(tokenFact(claims, 'environments', (c) => {
      const env = c.environment;
      const ok = env !== undefined && anyGlob(envs, env);
      return { condition: 'environments', ok, detail: `environment ${env === undefined ? '(none)' : `"${env}"`} ${ok ? 'matches' : 'does not match'} ${list(envs)}` };
    }));
  }
  if (a.environment_protected !== undefined) {
    const want = a.environment_protected;
    out.push(tokenFact(claims, 'environment_protected', (c) => {
      const ok = (c.environment_protected ?? false) === want;
      return { condition: 'environment_protected', ok, detail: `environment_protected is ${String(c.environment_protected ?? false)}, rule wants ${String(want)}` };
    }));
  }
  if (a.deployment_tiers !== undefined) {
    const tiers = a.deployment_tiers;
    out.push(tokenFact(claims, 'deployment_tiers', (c) => {
      const ok = c.deployment_tier !== undefined && tiers.includes(c.deployment_tier);
      return { condition: 'deployment_tiers', ok, detail: `deployment_tier ${c.deployment_tier === undefined ? '(none)' : `"${c.deployment_tier}"`} ${ok ? 'is' : 'is not'} one of ${list(tiers)}` };
    }));
  }
  if (a.pipeline_sources !== undefined) {
    const sources = a.pipeline_sources;
    out.push(tokenFact(claims, 'pipeline_sources', (c) => {
      const ok = c.pipeline_source !== undefined && anyGlob(sources, c.pipeline_source);
      return { condition: 'pipeline_sources', ok, detail: `pipeline_source ${c.pipeline_source === undefined ? '(none)' : `"${c.pipeline_source}"`} ${ok ? 'matches' : 'does not match'} ${list(sources)}` };
    }));
  }
  if (a.user_logins !== undefined) {
    const users = a.user_logins;
    out.push(tokenFact(claims, 'user_logins', (c) => {
      const ok = c.user_login !== undefined && anyGlob(users, c.user_login);
      return { condition: 'user_logins', ok, detail: `user_login ${c.user_login === undefined ? '(none)' : `"${c.user_login}"`} ${ok ? 'matches' : 'does not match'} ${list(users)}` };
    }));
  }
  return out;
}

/** The decision for one job. Pure: no I/O, no clock. */
export function evaluatePolicy(ctx: JobContext, requested: string | undefined, config: Pick<JobroleConfig, 'roles' | 'job'>): Decision {
  const viaDefault = requested === undefined;
  const name = requested ?? (config.job.default_role !== '' ? config.job.default_role : undefined);
  if (name === undefined) return { kind: 'none' };
  const judged = { project: ctx.projectPath.value, ref: ctx.ref.value, refType: ctx.refType.value };
  const role = config.roles.find((r) => r.name === name);
  if (role === undefined) {
    return { kind: 'deny', requested: name, viaDefault, judged, verdicts: [{ condition: 'role', ok: false, detail: `no role named "${name}" is configured on this runner` }] };
  }
  const verdicts: Verdict[] = [];
  if (ctx.idToken !== undefined) {
    for (const reason of crossCheck(ctx.idToken.claims, { projectPath: ctx.projectPath.value, ref: ctx.ref.value, jobId: ctx.jobId.value })) {
      verdicts.push({ condition: 'id-token', ok: false, detail: reason });
    }
  }
  verdicts.push(...judgeRole(role, ctx));
  if (verdicts.every((v) => v.ok)) return { kind: 'allow', role, requested: name, viaDefault, verdicts };
  return { kind: 'deny', requested: name, viaDefault, judged, verdicts };
}

/** The job-log message for a refusal: the role asked for, what it was judged on, and what failed. */
export function denialMessage(d: Extract<Decision, { kind: 'deny' }>, roleVariable: string): string {
  const failed = d.verdicts.filter((v) => !v.ok).map((v) => `  - ${v.condition}: ${v.detail}`);
  const how = d.viaDefault ? `the default role "${d.requested}"` : `role "${d.requested}" (asked for in ${roleVariable})`;
  return [
    `${how} is refused for project "${d.judged.project}", ${d.judged.refType} "${d.judged.ref}":`,
    ...failed,
    'Facts come from GitLab (the job response and a verified ID token), never from job variables. Ask the runner operator if this project should have this role.',
  ].join('\n');
}
