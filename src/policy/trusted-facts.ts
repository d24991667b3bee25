// Fork-aware checks of a verified token: both projects must match a rule, and token and response file must agree.

import type { VerifiedClaims } from '../identity/claims.js';
import { parseMergeRequestRef } from '../runner/merge-request-ref.js';

/**
 * In a fork merge-request pipeline the token's project_path is the fork (the merge request's source project, since
 * GitLab 18.2.2) and job_project_path the project running the job (since 18.3); a rule for "group/app" must not let a
 * fork's code in, so both must match.
 */
export function bothProjectsMatch(
  claims: Pick<VerifiedClaims, 'project_path' | 'job_project_path'>,
  pattern: string,
  globMatch: (pattern: string, value: string) => boolean,
): boolean {
  if (!globMatch(pattern, claims.project_path)) return false;
  return claims.job_project_path === undefined || globMatch(pattern, claims.job_project_path);
}

export interface ResponseFacts {
  projectPath: string;
  ref: string;
  jobId: number;
  /** git_info.sha; compared with the token's sha claim when both are there. */
  sha?: string;
  /** job_info.pipeline_id (runner >= 19.0); compared with the token's pipeline_id when both are there. */
  pipelineId?: number;
}

/**
 * Reasons the token and the response file describe different jobs (a token copied from another job or
 * project). The response file describes the project running the job, so that is job_project_path when
 * present. They are bound on job id, project, sha and pipeline id; on the ref only outside merge-request
 * pipelines, whose response ref is refs/merge-requests/<iid>/<kind> while the token's is the source branch
 * (there the token must say pipeline_source "merge_request_event" instead). Empty = they agree.
 */
export function crossCheck(claims: VerifiedClaims, facts: ResponseFacts): string[] {
  const reasons: string[] = [];
  const tokenProject = claims.job_project_path ?? claims.project_path;
  const which = claims.job_project_path !== undefined ? 'job_project_path' : 'project_path';
  if (tokenProject !== facts.projectPath) {
    reasons.push(`the ID token is for project ${JSON.stringify(tokenProject)} (${which}) but this job runs in ${JSON.stringify(facts.projectPath)}`);
  }
  const mr = parseMergeRequestRef(facts.ref);
  if (mr !== undefined) {
    if (claims.pipeline_source !== 'merge_request_event') {
      const src = claims.pipeline_source === undefined ? 'no pipeline_source claim' : `pipeline_source ${JSON.stringify(claims.pipeline_source)}`;
      reasons.push(`this job runs on merge-request ref ${JSON.stringify(facts.ref)} but the ID token has ${src}, not "merge_request_event"`);
    }
  } else if (claims.ref === undefined) {
    reasons.push('the ID token has no "ref" claim to compare with the job\'s ref');
  } else if (claims.ref !== facts.ref) {
    reasons.push(`the ID token is for ref ${JSON.stringify(claims.ref)} but this job runs on ref ${JSON.stringify(facts.ref)}`);
  }
  if (claims.sha !== undefined && facts.sha !== undefined && facts.sha !== '' && claims.sha !== facts.sha) {
    reasons.push(`the ID token is for commit ${claims.sha.slice(0, 12)} but this job runs commit ${facts.sha.slice(0, 12)}`);
  }
  if (claims.pipeline_id !== undefined && facts.pipelineId !== undefined && claims.pipeline_id !== String(facts.pipelineId)) {
    reasons.push(`the ID token is for pipeline ${claims.pipeline_id} but this job is in pipeline ${facts.pipelineId}`);
  }
  if (claims.job_id === undefined) {
    reasons.push('the ID token has no "job_id" claim, so it cannot be tied to this job');
  } else if (claims.job_id !== String(facts.jobId)) {
    reasons.push(`the ID token belongs to job ${claims.job_id}, not to this job ${facts.jobId}`);
  }
  return reasons;
}
