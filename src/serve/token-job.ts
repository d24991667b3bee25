// The broker's one source of policy facts: a verified GitLab ID token alone, turned into the job it describes.

import type { JobroleConfig } from '../config/types.js';
import type { VerifiedIdToken } from '../identity/claims.js';
import { factsFromToken, fromToken, tokenId } from '../policy/token-facts.js';
import { evaluateFacts, judgeFacts, refusal, type Decision, type Verdict } from '../policy/evaluate.js';
import type { PolicyFacts } from '../policy/facts-types.js';
import type { JobContext } from '../runner/job-context-types.js';

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

/** The job a verified token describes, or why the token cannot stand for a CI job (then: 401). */
export function jobFromToken(token: VerifiedIdToken): TokenJob | { problem: string } {
  const c = token.claims;
  const jobId = tokenId(c.job_id);
  const projectId = tokenId(c.project_id);
  if (jobId === undefined) return { problem: 'its "job_id" claim is missing or not a job id; it is not a GitLab CI job\'s ID token' };
  if (projectId === undefined) return { problem: 'its "project_id" claim is missing or not a project id; it is not a GitLab CI job\'s ID token' };
  const facts = factsFromToken(c);
  const project = facts.project.value;
  const opt = (claim: 'pipeline_id' | 'namespace_id' | 'user_id') => {
    const id = tokenId(c[claim]);
    return id !== undefined ? fromToken(id, claim) : undefined;
  };
  const ctx: JobContext = {
    jobId: fromToken(jobId, 'job_id'),
    projectId: fromToken(projectId, 'project_id'),
    pipelineId: opt('pipeline_id'),
    projectPath: facts.project,
    projectName: fromToken(project.split('/').pop() ?? project, 'project_path'),
    jobName: fromToken('', 'none'),
    stage: fromToken('', 'none'),
    ref: facts.ref,
    refType: facts.refType,
    sha: fromToken(c.sha ?? '', 'sha'),
    repoUrl: fromToken('', 'none'),
    protectedRef: facts.protected,
    namespaceId: opt('namespace_id'),
    rootNamespaceId: undefined,
    userId: opt('user_id'),
    mergeRequest: undefined,
    runnerFields: { gitProtected: false, projectFullPath: false, pipelineId: false },
    timeoutSeconds: undefined,
    idToken: token,
  };
  return { jobId, projectId, project, facts, ctx };
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
  const { refused, failed } = refusal(d);
  return `role "${d.requested}" ${refused}: ${failed.join('; ')}`;
}
