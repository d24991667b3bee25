// Builds trusted job contexts (and verified ID-token claims) for policy, session and runner tests.

import type { VerifiedClaims } from '../../src/identity/claims.js';
import type { JobContext } from '../../src/runner/job-context-types.js';

export interface ContextFacts {
  jobId?: number;
  projectId?: number;
  pipelineId?: number;
  projectPath?: string;
  ref?: string;
  refType?: string;
  claims?: Partial<VerifiedClaims>;
}

/** A response-file context for group/app on main (job 4242); `claims` adds a verified ID token that agrees with it. */
export function jobContext(f: ContextFacts = {}): JobContext {
  const projectPath = f.projectPath ?? 'group/app';
  const ref = f.ref ?? 'main';
  const jobId = f.jobId ?? 4242;
  const rf = <T>(value: T) => ({ value, source: 'response-file' as const });
  const ctx: JobContext = {
    jobId: rf(jobId),
    projectId: rf(f.projectId ?? 77),
    pipelineId: rf(f.pipelineId ?? 900),
    projectPath: rf(projectPath),
    projectName: rf(projectPath.split('/').pop() ?? ''),
    jobName: rf('deploy'),
    stage: rf('deploy'),
    ref: rf(ref),
    refType: rf(f.refType ?? 'branch'),
    sha: rf('0123456789abcdef0123456789abcdef01234567'),
    repoUrl: rf(`https://gitlab.example.com/${projectPath}.git`),
    timeoutSeconds: rf(3600),
    idToken: undefined,
  };
  if (f.claims !== undefined) {
    const claims: VerifiedClaims = {
      iss: 'https://gitlab.example.com',
      sub: `project_path:${projectPath}:ref_type:branch:ref:${ref}`,
      aud: 'https://gitlab.example.com',
      exp: 1_900_000_000,
      project_path: projectPath,
      ref,
      job_id: String(jobId),
      ...f.claims,
    };
    ctx.idToken = { claims, raw: 'header.payload.signature' };
  }
  return ctx;
}
