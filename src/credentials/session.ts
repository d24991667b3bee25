// Names and tags for an STS session, derived from trusted job facts and cleaned to STS's rules.

import type { SourceIdentitySource } from '../config/types.js';
import type { JobContext } from '../runner/job-context-types.js';
import { trustedPipelineId } from '../policy/job-facts.js';

export interface SessionTag {
  Key: string;
  Value: string;
}

/** RoleSessionName: 2..64 of [\w+=,.@-]; gitlab-<project_id>-<job_id> always fits. */
export function sessionName(ctx: JobContext): string {
  return `gitlab-${ctx.projectId.value}-${ctx.jobId.value}`.slice(0, 64);
}

/** Maps anything to STS's name charset [\w+=,.@-], 2..64 characters. */
export function cleanName(value: string): string {
  const cleaned = value
    .replace(/\//g, '.')
    .replace(/[^\w+=,.@-]/g, '-')
    .slice(0, 64);
  return cleaned.length >= 2 ? cleaned : cleaned.padEnd(2, '-');
}

/** The SourceIdentity to set, per [job].source_identity; undefined = none. */
export function sourceIdentity(ctx: JobContext, source: SourceIdentitySource): string | undefined {
  switch (source) {
    case 'none':
      return undefined;
    case 'job':
      return `gitlab-job-${ctx.jobId.value}`;
    case 'project':
      return cleanName(ctx.projectPath.value);
    case 'user_login': {
      const login = ctx.idToken?.claims.user_login;
      return login === undefined || login === '' ? `gitlab-job-${ctx.jobId.value}` : cleanName(login);
    }
  }
}

/** Tag values: [\p{L}\p{Z}\p{N}_.:/=+\-@], at most 256 characters. */
export function cleanTagValue(value: string): string {
  return Array.from(value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_'))
    .slice(0, 256)
    .join('');
}

/** Session tags from the job: required ones always sent, optional ones dropped first on PackedPolicyTooLarge. */
export function sessionTags(ctx: JobContext): { required: SessionTag[]; optional: SessionTag[] } {
  const tag = (Key: string, Value: string): SessionTag => ({ Key, Value: cleanTagValue(Value) });
  const pipelineId = trustedPipelineId(ctx);
  return {
    required: [tag('gitlab:project_path', ctx.projectPath.value), tag('gitlab:job_id', String(ctx.jobId.value))],
    optional: [
      tag('gitlab:ref', ctx.ref.value),
      tag('gitlab:ref_type', ctx.refType.value),
      // Only a pipeline id GitLab sent (runner >= 19.0, or a verified token): never a made-up 0.
      ...(pipelineId !== undefined ? [tag('gitlab:pipeline_id', String(pipelineId))] : []),
      tag('gitlab:project_id', String(ctx.projectId.value)),
    ],
  };
}

/** STS caps chained sessions (from instance-profile credentials) at one hour. */
export const CHAINING_CAP_SECONDS = 3600;
export const MIN_SESSION_SECONDS = 900;

export function assumeRoleDuration(maxDuration: number): number {
  return Math.max(MIN_SESSION_SECONDS, Math.min(maxDuration, CHAINING_CAP_SECONDS));
}
