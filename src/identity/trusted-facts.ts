// Fork-aware checks of a verified token: both projects must match a rule, and token and response file must agree.

import type { VerifiedClaims } from './claims.js';

/**
 * In a fork merge-request pipeline the token's project_path is the upstream project while job_project_path is
 * the fork actually running the job; a rule for "group/app" must not let a fork's code in, so both must match.
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
}

/**
 * Reasons the token and the response file describe different jobs (a token copied from another job or
 * project). The response file describes the project running the job, so that is job_project_path when
 * present. Empty = they agree; the caller denies otherwise.
 */
export function crossCheck(claims: VerifiedClaims, facts: ResponseFacts): string[] {
  const reasons: string[] = [];
  const tokenProject = claims.job_project_path ?? claims.project_path;
  const which = claims.job_project_path !== undefined ? 'job_project_path' : 'project_path';
  if (tokenProject !== facts.projectPath) {
    reasons.push(`the ID token is for project ${JSON.stringify(tokenProject)} (${which}) but this job runs in ${JSON.stringify(facts.projectPath)}`);
  }
  if (claims.ref === undefined) {
    reasons.push('the ID token has no "ref" claim to compare with the job\'s ref');
  } else if (claims.ref !== facts.ref) {
    reasons.push(`the ID token is for ref ${JSON.stringify(claims.ref)} but this job runs on ref ${JSON.stringify(facts.ref)}`);
  }
  if (claims.job_id === undefined) {
    reasons.push('the ID token has no "job_id" claim, so it cannot be tied to this job');
  } else if (claims.job_id !== String(facts.jobId)) {
    reasons.push(`the ID token belongs to job ${claims.job_id}, not to this job ${facts.jobId}`);
  }
  return reasons;
}
