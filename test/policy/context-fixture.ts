// Builds trusted job contexts (and verified ID-token claims) for policy, session and runner tests.

import type { VerifiedClaims } from '../../src/identity/claims.js';
import type { JobContext } from '../../src/runner/job-context-types.js';
import { parseMergeRequestRef } from '../../src/runner/merge-request-ref.js';

export interface ContextFacts {
  jobId?: number;
  projectId?: number;
  /** null: the runner sent none (older than 19.0). */
  pipelineId?: number | null;
  /** git_info.protected: undefined = absent (runner < 18.3), null = sent as null (GitLab < 18.3). */
  gitProtected?: boolean | null;
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
    pipelineId: f.pipelineId === null ? undefined : rf(f.pipelineId ?? 900),
    projectPath: rf(projectPath),
    projectName: rf(projectPath.split('/').pop() ?? ''),
    jobName: rf('deploy'),
    stage: rf('deploy'),
    ref: rf(ref),
    refType: rf(f.refType ?? 'branch'),
    sha: rf('0123456789abcdef0123456789abcdef01234567'),
    repoUrl: rf(`https://gitlab.example.com/${projectPath}.git`),
    timeoutSeconds: rf(3600),
    protectedRef: f.gitProtected !== undefined && f.gitProtected !== null ? { ...rf(f.gitProtected), field: 'git_info.protected' } : undefined,
    namespaceId: undefined,
    rootNamespaceId: undefined,
    userId: undefined,
    mergeRequest: parseMergeRequestRef(ref),
    runnerFields: { gitProtected: f.gitProtected !== undefined, projectFullPath: true, pipelineId: f.pipelineId !== null },
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
