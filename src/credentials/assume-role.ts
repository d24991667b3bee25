// Strategy assume-role: STS AssumeRole from the host's own credentials (on EC2, the instance profile).

import type { STSClient } from '@aws-sdk/client-sts';
import { BuildFailure, SystemFailure } from '../core/exit-codes.js';
import type { IssuedSession } from '../core/credential-types.js';
import type { SessionTag } from './session.js';
import { errorCode, errorMessage, isMissingHostCredentials, isTransient } from '../aws/errors.js';

export interface AssumeRoleRequest {
  roleName: string;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  sourceIdentity?: string | undefined;
  tags?: { required: SessionTag[]; optional: SessionTag[] } | undefined;
  policy?: string | undefined;
  policyArns?: string[] | undefined;
}

/** Explains a failed AssumeRole in terms an operator can act on. */
function explain(err: unknown, req: AssumeRoleRequest, attempts: number | undefined): Error {
  const code = errorCode(err);
  const msg = errorMessage(err);
  const role = `role "${req.roleName}" (${req.roleArn})`;
  if (isMissingHostCredentials(err)) {
    return new SystemFailure(
      `cannot assume ${role}: this host has no AWS credentials (no instance profile, or the metadata service is unreachable from the driver): ${msg}`,
      { cause: err },
    );
  }
  if (isTransient(err)) {
    return new SystemFailure(
      `STS did not answer AssumeRole for ${role}${attempts !== undefined ? ` after ${attempts} attempts` : ''} (${code || 'network error'}: ${msg}); the runner will retry the job`,
      { cause: err },
    );
  }
  switch (code) {
    case 'AccessDenied':
    case 'AccessDeniedException':
      return new SystemFailure(
        `STS refused AssumeRole for ${role}: ${msg}. Fix the role's trust policy: it must allow this host's role to call sts:AssumeRole${req.sourceIdentity !== undefined ? ', sts:SetSourceIdentity' : ''}${req.tags !== undefined ? ' and sts:TagSession' : ''}; and the host role needs sts:AssumeRole on the role ARN.`,
        { cause: err },
      );
    case 'MalformedPolicyDocument':
    case 'MalformedPolicyDocumentException':
      return new SystemFailure(`STS rejected the session policy of ${role}: ${msg}. Fix session_policy / policy_arns for this role in config.toml.`, {
        cause: err,
      });
    case 'PackedPolicyTooLarge':
    case 'PackedPolicyTooLargeException':
      return new SystemFailure(
        `the session policy and tags of ${role} are too large for STS even without optional tags: ${msg}. Shorten session_policy or policy_arns.`,
        { cause: err },
      );
    case 'RegionDisabledException':
      return new SystemFailure(
        `STS is not activated in region of [aws].region for this account: ${msg}. Activate it in IAM account settings or use another region/endpoint.`,
        { cause: err },
      );
    case 'ExpiredToken':
    case 'ExpiredTokenException':
      return new SystemFailure(`the host's own credentials have expired (${msg}); check the instance profile / credential source of the runner host`, {
        cause: err,
      });
    case 'ValidationError':
      return new SystemFailure(`STS rejected AssumeRole for ${role}: ${msg}`, { cause: err });
    default:
      return new SystemFailure(`AssumeRole for ${role} failed: ${code || 'error'}: ${msg}`, { cause: err });
  }
}

/** Assumes the role once. Throttling/5xx are retried by the SDK client (standard retry mode, bounded attempts). */
export async function assumeRoleSession(deps: { sts: STSClient }, req: AssumeRoleRequest): Promise<IssuedSession> {
  const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  let tags = req.tags ? [...req.tags.required, ...req.tags.optional] : undefined;
  for (;;) {
    try {
      const out = await deps.sts.send(
        new AssumeRoleCommand({
          RoleArn: req.roleArn,
          RoleSessionName: req.sessionName,
          DurationSeconds: req.durationSeconds,
          ...(req.sourceIdentity !== undefined ? { SourceIdentity: req.sourceIdentity } : {}),
          ...(tags !== undefined && tags.length > 0 ? { Tags: tags } : {}),
          ...(req.policy ? { Policy: req.policy } : {}),
          ...(req.policyArns && req.policyArns.length > 0 ? { PolicyArns: req.policyArns.map((arn) => ({ arn })) } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
        throw new SystemFailure(`STS answered AssumeRole for role "${req.roleName}" without credentials`);
      }
      return {
        credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) },
        roleArn: req.roleArn,
        ...(out.AssumedRoleUser?.Arn ? { assumedRoleArn: out.AssumedRoleUser.Arn } : {}),
        sessionName: req.sessionName,
        ...(out.SourceIdentity ? { sourceIdentity: out.SourceIdentity } : req.sourceIdentity !== undefined ? { sourceIdentity: req.sourceIdentity } : {}),
        ...(tags !== undefined ? { tagKeys: tags.map((t) => t.Key) } : {}),
      };
    } catch (err) {
      if (err instanceof SystemFailure || err instanceof BuildFailure) throw err;
      const code = errorCode(err);
      const optional = req.tags?.optional.length ?? 0;
      if (
        (code === 'PackedPolicyTooLarge' || code === 'PackedPolicyTooLargeException') &&
        tags !== undefined &&
        req.tags &&
        tags.length > req.tags.required.length &&
        optional > 0
      ) {
        tags = [...req.tags.required];
        continue;
      }
      const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
      throw explain(err, req, attempts);
    }
  }
}
