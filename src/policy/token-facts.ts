// Policy facts from a verified GitLab ID token alone (no response file): what a broker that only sees the token can judge.

import type { VerifiedClaims } from '../identity/claims.js';
import { MERGE_REQUEST_SOURCES, type PolicyFacts } from './facts-types.js';
import type { Fact } from '../runner/job-context-types.js';

/** A fact read from a verified token's claim. */
export const fromToken = <T>(value: T, claim: string): Fact<T> => ({ value, source: 'id-token', field: claim });
const opt = <T>(value: T | undefined, claim: string): Fact<T> | undefined => (value === undefined ? undefined : fromToken(value, claim));

const ID = /^[1-9]\d{0,15}$/;
/** A GitLab id claim (job_id, project_id, pipeline_id, ...) as a number, or undefined when absent or not an id. */
export function tokenId(claim: string | undefined): number | undefined {
  return claim !== undefined && ID.test(claim) ? Number(claim) : undefined;
}

/** The token's claims as policy facts. Pure: the caller has verified the token. */
export function factsFromToken(c: VerifiedClaims): PolicyFacts {
  const runs = c.job_project_path ?? c.project_path;
  const isMr = c.pipeline_source !== undefined && MERGE_REQUEST_SOURCES.includes(c.pipeline_source);
  const ref = c.ref ?? '';
  return {
    project: fromToken(runs, c.job_project_path !== undefined ? 'job_project_path' : 'project_path'),
    tokenProjects: { projectPath: c.project_path, ...(c.job_project_path !== undefined ? { jobProjectPath: c.job_project_path } : {}) },
    ref: fromToken(ref, 'ref'),
    refType: fromToken(c.ref_type ?? 'branch', 'ref_type'),
    mergeRequest: fromToken(isMr, 'pipeline_source'),
    sourceBranch: isMr && c.ref !== undefined ? fromToken(c.ref, 'ref') : undefined,
    protected: opt(c.ref_protected, 'ref_protected'),
    protectedProblem: c.ref_protected === undefined ? 'the ID token has no ref_protected claim' : undefined,
    hasIdToken: true,
    environment: opt(c.environment, 'environment'),
    environmentProtected: opt(c.environment_protected, 'environment_protected'),
    deploymentTier: opt(c.deployment_tier, 'deployment_tier'),
    pipelineSource: opt(c.pipeline_source, 'pipeline_source'),
    userLogin: opt(c.user_login, 'user_login'),
  };
}
