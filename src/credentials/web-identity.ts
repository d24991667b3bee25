// The web-identity strategy: AssumeRoleWithWebIdentity with the job's verified GitLab ID token, no host credentials.

import { AssumeRoleWithWebIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { BuildFailure, SystemFailure } from '../core/exit-codes.js';
import { AwsCallFailed, errorCode, retryTransient } from '../aws/errors.js';
import type { IssuedSession } from '../core/credential-types.js';
import type { VerifiedClaims } from '../identity/claims.js';

export interface WebIdentityDeps {
  /**
   * The SDK sends AssumeRoleWithWebIdentity unsigned, so this client needs no credentials: build it with
   * stsClient(aws, { credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } }) so the SDK never
   * walks its default chain to the host's instance profile.
   */
  sts: STSClient;
  sleep?: (ms: number) => Promise<void>;
  /** Attempts for transient errors (IdP unreachable, throttling, 5xx, network) before a SystemFailure; default 4. */
  maxAttempts?: number;
  /** For jitter; default Math.random. */
  random?: () => number;
}

export interface WebIdentityRequest {
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  /** The raw ID token. Never logged, never in a message. */
  token: string;
  /** The token's verified claims, shown (sub, aud) when the trust policy refuses. */
  claims?: VerifiedClaims;
  policy?: string;
  policyArns?: string[];
}

const TRUST_REFUSALS = new Set([
  'InvalidIdentityTokenException',
  'InvalidIdentityToken',
  'IDPRejectedClaimException',
  'IDPRejectedClaim',
  'AccessDenied',
  'AccessDeniedException',
]);
const EXPIRED = new Set(['ExpiredTokenException', 'ExpiredToken']);
/** Retried on top of the common transient errors: the IdP's outages and a few more network failures. */
const TRANSIENT = new Set([
  'IDPCommunicationErrorException',
  'IDPCommunicationError',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'InternalFailure',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** AWS's own message, without the token or anything shaped like a JWT, shortened. */
function awsMessage(err: unknown, token: string): string {
  let msg = err instanceof Error ? err.message : String(err);
  if (token !== '') msg = msg.split(token).join('[ID token]');
  msg = msg.replace(/[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/g, '[JWT]');
  return msg.length > 300 ? `${msg.slice(0, 297)}...` : msg;
}

/** The IAM OIDC provider's name for an issuer: its URL without the scheme, e.g. gitlab.example.com. */
function providerHost(iss: string): string {
  return iss.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function trustRefusal(code: string, err: unknown, req: WebIdentityRequest): BuildFailure {
  const c = req.claims;
  const host = c !== undefined ? providerHost(c.iss) : '<gitlab host>';
  const seen = c !== undefined ? ` This job's token has sub=${JSON.stringify(c.sub)} and aud=${JSON.stringify(c.aud)}.` : '';
  return new BuildFailure(
    `STS refused AssumeRoleWithWebIdentity for role ${req.roleArn} (${code}: ${awsMessage(err, req.token)}). ` +
      `Check the role's trust policy: Principal.Federated must be the IAM OIDC provider for ${host}, and its conditions on ` +
      `"${host}:sub" and "${host}:aud" must match this job.${seen}`,
    { cause: err },
  );
}

export async function webIdentitySession(deps: WebIdentityDeps, req: WebIdentityRequest): Promise<IssuedSession> {
  const maxAttempts = Math.max(1, deps.maxAttempts ?? 4);
  const input = {
    RoleArn: req.roleArn,
    RoleSessionName: req.sessionName,
    WebIdentityToken: req.token,
    DurationSeconds: req.durationSeconds,
    ...(req.policy !== undefined && req.policy !== '' ? { Policy: req.policy } : {}),
    ...(req.policyArns !== undefined && req.policyArns.length > 0 ? { PolicyArns: req.policyArns.map((arn) => ({ arn })) } : {}),
  };

  let out;
  try {
    out = await retryTransient(() => deps.sts.send(new AssumeRoleWithWebIdentityCommand(input)), {
      maxAttempts,
      alsoCodes: TRANSIENT,
      ...(deps.sleep !== undefined ? { sleep: deps.sleep } : {}),
      ...(deps.random !== undefined ? { random: deps.random } : {}),
    });
  } catch (failed) {
    const err = failed instanceof AwsCallFailed ? failed.cause : failed;
    const code = errorCode(err) || 'UnknownError';
    if (TRUST_REFUSALS.has(code)) throw trustRefusal(code, err, req);
    if (EXPIRED.has(code)) {
      throw new BuildFailure(
        `STS refused AssumeRoleWithWebIdentity for role ${req.roleArn}: the job's ID token has expired ` +
          `(${code}). ID tokens last as long as the job's timeout; retry the job.`,
        { cause: err },
      );
    }
    if (!(failed instanceof AwsCallFailed) || !failed.transient) {
      throw new SystemFailure(`AssumeRoleWithWebIdentity for role ${req.roleArn} failed (${code}: ${awsMessage(err, req.token)}).`, { cause: err });
    }
    throw new SystemFailure(
      `AssumeRoleWithWebIdentity for role ${req.roleArn} kept failing (${code}: ${awsMessage(err, req.token)}) ` +
        `after ${failed.attempts} attempts; STS or GitLab's OIDC endpoint may be unreachable or throttled.`,
      { cause: err },
    );
  }
  const cr = out.Credentials;
  if (!cr?.AccessKeyId || !cr.SecretAccessKey || !cr.SessionToken || !cr.Expiration) {
    throw new SystemFailure(`STS answered AssumeRoleWithWebIdentity for role ${req.roleArn} without complete credentials.`);
  }
  const session: IssuedSession = {
    credentials: { accessKeyId: cr.AccessKeyId, secretAccessKey: cr.SecretAccessKey, sessionToken: cr.SessionToken, expiration: cr.Expiration },
    roleArn: req.roleArn,
    sessionName: req.sessionName,
  };
  if (out.AssumedRoleUser?.Arn) session.assumedRoleArn = out.AssumedRoleUser.Arn;
  return session;
}
