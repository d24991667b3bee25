// The STS recipe for one job's role (assume-role or web-identity): session name, duration, SourceIdentity, tags, policies.

import type { JobroleConfig, RoleConfig } from '../config/types.js';
import type { JobContext } from '../runner/job-context-types.js';
import { assumeRoleDuration, sessionName, sessionTags, sourceIdentity } from './session.js';
import type { SessionSpec } from './session-source.js';

export function sessionSpec(config: JobroleConfig, role: RoleConfig, ctx: JobContext): SessionSpec {
  const web = role.strategy === 'web-identity';
  const policy = role.session_policy !== '' ? role.session_policy : undefined;
  const si = web ? undefined : sourceIdentity(ctx, config.job.source_identity);
  return {
    strategy: web ? 'web-identity' : 'assume-role',
    aws: config.aws,
    roleName: role.name,
    roleArn: role.arn,
    sessionName: sessionName(ctx),
    // Web identity is not chaining: up to the role's own maximum.
    durationSeconds: web ? role.max_duration : assumeRoleDuration(role.max_duration),
    ...(si !== undefined ? { sourceIdentity: si } : {}),
    ...(!web && config.job.session_tags ? { tags: sessionTags(ctx) } : {}),
    ...(policy !== undefined ? { policy } : {}),
    ...(role.policy_arns.length > 0 ? { policyArns: role.policy_arns } : {}),
    ...(web && ctx.idToken ? { webIdentityToken: ctx.idToken.raw, claims: ctx.idToken.claims } : {}),
  };
}
