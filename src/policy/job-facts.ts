// Policy facts for a job run by this driver: the response file's facts, completed and cross-checked by a verified ID token.

import type { JobContext } from '../runner/job-context-types.js';
import { factsFromToken, tokenId } from './token-facts.js';
import { MERGE_REQUEST_SOURCES, PROTECTED_MIN_RUNNER, type PolicyFacts } from './facts-types.js';

/** Whether GitLab says the ref is protected: git_info.protected when the runner sent it, else the token's ref_protected. */
function protectedFact(ctx: JobContext): Pick<PolicyFacts, 'protected' | 'protectedProblem'> {
  const fromFile = ctx.protectedRef;
  const fromToken = ctx.idToken?.claims.ref_protected;
  if (fromFile !== undefined && fromToken !== undefined && fromFile.value !== fromToken) {
    return {
      protected: undefined,
      protectedProblem: `git_info.protected is ${String(fromFile.value)} but the ID token's ref_protected is ${String(fromToken)}; they describe different jobs`,
    };
  }
  if (fromFile !== undefined) return { protected: fromFile, protectedProblem: undefined };
  if (fromToken !== undefined) return { protected: { value: fromToken, source: 'id-token', field: 'ref_protected' }, protectedProblem: undefined };
  if (ctx.idToken !== undefined)
    return { protected: undefined, protectedProblem: 'the verified ID token has no ref_protected claim and the response file has no git_info.protected' };
  const why = ctx.runnerFields.gitProtected
    ? 'git_info.protected is null (GitLab older than 18.3 does not send it)'
    : `the response file has no git_info.protected (runners older than ${PROTECTED_MIN_RUNNER} do not write it)`;
  return {
    protected: undefined,
    protectedProblem: `needs an ID token or gitlab-runner >= ${PROTECTED_MIN_RUNNER} with GitLab >= 18.3: ${why}; declare id_tokens: in the job (verified with [gitlab].url)`,
  };
}

/** The facts a decision reads for this job. Pure. */
export function factsFromJob(ctx: JobContext): PolicyFacts {
  const claims = ctx.idToken?.claims;
  const token = claims !== undefined ? factsFromToken(claims) : undefined;
  const tokenSaysMr = claims?.pipeline_source !== undefined && MERGE_REQUEST_SOURCES.includes(claims.pipeline_source);
  const mergeRequest: PolicyFacts['mergeRequest'] =
    ctx.mergeRequest !== undefined
      ? { value: true, source: 'response-file', field: 'git_info.ref' }
      : tokenSaysMr
        ? { value: true, source: 'id-token', field: 'pipeline_source' }
        : claims?.pipeline_source !== undefined
          ? { value: false, source: 'id-token', field: 'pipeline_source' }
          : { value: false, source: 'response-file', field: 'git_info.ref' };
  return {
    project: ctx.projectPath,
    tokenProjects: token?.tokenProjects,
    ref: ctx.ref,
    refType: ctx.refType,
    mergeRequest,
    sourceBranch: mergeRequest.value && claims?.ref !== undefined ? { value: claims.ref, source: 'id-token', field: 'ref' } : undefined,
    ...protectedFact(ctx),
    hasIdToken: token !== undefined,
    environment: token?.environment,
    environmentProtected: token?.environmentProtected,
    deploymentTier: token?.deploymentTier,
    pipelineSource: token?.pipelineSource,
    userLogin: token?.userLogin,
  };
}

/** The pipeline id GitLab vouches for: job_info.pipeline_id (runner >= 19.0), else a verified token's; never made up. */
export function trustedPipelineId(ctx: JobContext): number | undefined {
  if (ctx.pipelineId !== undefined) return ctx.pipelineId.value;
  return tokenId(ctx.idToken?.claims.pipeline_id);
}
