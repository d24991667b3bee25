// The broker's one source of policy facts: a verified GitLab ID token alone, turned into the job it describes.

import type { JobroleConfig } from '../config/types.js';
import type { VerifiedIdToken } from '../identity/claims.js';
import { factsFromToken } from '../policy/token-facts.js';
import { evaluateFacts, judgeFacts, type Decision, type Verdict } from '../policy/evaluate.js';
import type { PolicyFacts } from '../policy/facts-types.js';
import type { Fact, JobContext } from '../runner/job-context-types.js';

export interface TokenJob {
  jobId: number;
  projectId: number;
  /** The project running the job (job_project_path for fork merge requests, else project_path). */
  project: string;
  /** What policy judges: the token's facts (merge-request and fork aware), from the same function the driver uses. */
  facts: PolicyFacts;
  /** The job as the driver's session names, SourceIdentity and tags see it; every fact from the token. */
  ctx: JobContext;
}

const ID = /^[1-9]\d{0,15}$/;
const fromToken = <T>(value: T, field: string): Fact<T> => ({ value, source: 'id-token', field });
const num = (v: string | undefined): number | undefined => (v !== undefined && ID.test(v) ? Number(v) : undefined);

/** The job a verified token describes, or why the token cannot stand for a CI job (then: 401). */
export function jobFromToken(token: VerifiedIdToken): TokenJob | { problem: string } {
  const c = token.claims;
  if (c.job_id === undefined || !ID.test(c.job_id)) return { problem: 'its "job_id" claim is missing or not a job id; it is not a GitLab CI job\'s ID token' };
  if (c.project_id === undefined || !ID.test(c.project_id))
    return { problem: 'its "project_id" claim is missing or not a project id; it is not a GitLab CI job\'s ID token' };
  const project = c.job_project_path ?? c.project_path;
  const jobId = Number(c.job_id);
  const projectId = Number(c.project_id);
  const pipelineId = num(c.pipeline_id);
  const namespaceId = num(c.namespace_id);
  const userId = num(c.user_id);
  const ctx: JobContext = {
    jobId: fromToken(jobId, 'job_id'),
    projectId: fromToken(projectId, 'project_id'),
    pipelineId: pipelineId !== undefined ? fromToken(pipelineId, 'pipeline_id') : undefined,
    projectPath: fromToken(project, c.job_project_path !== undefined ? 'job_project_path' : 'project_path'),
    projectName: fromToken(project.split('/').pop() ?? project, 'project_path'),
    jobName: fromToken('', 'none'),
    stage: fromToken('', 'none'),
    ref: fromToken(c.ref ?? '', 'ref'),
    refType: fromToken(c.ref_type ?? 'branch', 'ref_type'),
    sha: fromToken(c.sha ?? '', 'sha'),
    repoUrl: fromToken('', 'none'),
    protectedRef: c.ref_protected !== undefined ? fromToken(c.ref_protected, 'ref_protected') : undefined,
    namespaceId: namespaceId !== undefined ? fromToken(namespaceId, 'namespace_id') : undefined,
    rootNamespaceId: undefined,
    userId: userId !== undefined ? fromToken(userId, 'user_id') : undefined,
    mergeRequest: undefined,
    runnerFields: { gitProtected: false, projectFullPath: false, pipelineId: false },
    timeoutSeconds: undefined,
    idToken: token,
  };
  return { jobId, projectId, project, facts: factsFromToken(c), ctx };
}

/** The policy decision for one role asked for by URL, from the token's facts alone. Pure. */
export function decideForToken(job: TokenJob, role: string, config: Pick<JobroleConfig, 'roles' | 'job'>): Decision {
  return evaluateFacts(job.facts, role, config);
}

/** Every configured role judged against the token's facts (for explain). Pure. */
export function judgeAllRoles(job: TokenJob, config: Pick<JobroleConfig, 'roles'>): Array<{ role: JobroleConfig['roles'][number]; verdicts: Verdict[] }> {
  return config.roles.map((role) => ({ role, verdicts: judgeFacts(role, job.facts) }));
}

/** The 403 message: the role asked for, what it was judged on, and what failed for that role alone. */
export function refusalMessage(d: Extract<Decision, { kind: 'deny' }>): string {
  const failed = d.verdicts.filter((v) => !v.ok).map((v) => `${v.condition}: ${v.detail}`);
  return `role "${d.requested}" is refused for project "${d.judged.project}", ${d.judged.refType} "${d.judged.ref}": ${failed.join('; ')}`;
}
