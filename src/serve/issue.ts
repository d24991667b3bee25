// Obtains a job's session for one role from STS, as the driver would, bounded by the job's ID token's lifetime.

import type { STSClient } from '@aws-sdk/client-sts';
import type { JobroleConfig, RoleConfig } from '../config/types.js';
import { causeChain, errorCode, isMissingHostCredentials, isTransient } from '../aws/errors.js';
import { MIN_SESSION_SECONDS } from '../credentials/session.js';
import type { IssuedSession } from '../core/credential-types.js';
import { BuildFailure } from '../core/exit-codes.js';
import { sessionSpec } from '../credentials/session-spec.js';
import type { TokenJob } from './token-job.js';

export interface StsClients {
  /** Signed with the broker's own credentials (instance profile, ECS task role, IRSA): for assume-role. */
  assumeRole: () => Promise<STSClient>;
  /** Unsigned calls only (AssumeRoleWithWebIdentity): needs no credentials at all. */
  webIdentity: () => Promise<STSClient>;
}

export interface Lifetime {
  durationSeconds: number;
  /** Set when STS's 900 s minimum would outlive the token: AWS itself denies every action after this instant. */
  denyAfter?: Date;
}

/**
 * DurationSeconds for a session that must not outlive the token: the role's duration, cut to the token's
 * remaining life. STS will not issue less than 900 s, so a token with less left gets 900 s plus a session policy
 * that denies everything after the token's exp.
 */
export function sessionLifetime(roleSeconds: number, tokenExpSeconds: number, nowMs: number): Lifetime {
  const remaining = Math.floor(tokenExpSeconds - nowMs / 1000);
  if (remaining >= MIN_SESSION_SECONDS) return { durationSeconds: Math.min(roleSeconds, remaining) };
  return { durationSeconds: MIN_SESSION_SECONDS, denyAfter: new Date(tokenExpSeconds * 1000) };
}

/** The role's own session policy (if any) plus a statement denying every action after `after`. */
export function denyAfterPolicy(sessionPolicy: string | undefined, after: Date): string {
  const deny = {
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: { DateGreaterThan: { 'aws:CurrentTime': after.toISOString().replace(/\.\d{3}Z$/, 'Z') } },
  };
  if (sessionPolicy === undefined || sessionPolicy === '') {
    return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }, deny] });
  }
  const doc = JSON.parse(sessionPolicy) as { Version?: string; Statement?: unknown };
  const statements: unknown[] = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement !== undefined ? [doc.Statement] : [];
  return JSON.stringify({ ...doc, Version: doc.Version ?? '2012-10-17', Statement: [...statements, deny] });
}

/** One STS call for (job, role), the way prepare makes it: same session name, SourceIdentity, tags and policies. */
export async function issueSession(clients: StsClients, config: JobroleConfig, role: RoleConfig, job: TokenJob, nowMs: number): Promise<IssuedSession> {
  const spec = sessionSpec(config, role, job.ctx);
  const token = job.ctx.idToken;
  if (token === undefined) throw new Error('issueSession needs the verified token');
  const life = sessionLifetime(spec.durationSeconds, token.claims.exp, nowMs);
  const policy = life.denyAfter !== undefined ? denyAfterPolicy(spec.policy, life.denyAfter) : spec.policy;
  const bounded = { ...spec, durationSeconds: life.durationSeconds, ...(policy !== undefined ? { policy } : {}) };
  const sts = spec.strategy === 'web-identity' ? await clients.webIdentity() : await clients.assumeRole();
  const { stsSessionFromSpec } = await import('../credentials/session-source.js');
  return stsSessionFromSpec(bounded, sts);
}

export interface Failure {
  status: 403 | 500 | 503;
  code: 'AccessDenied' | 'InternalError' | 'ServiceUnavailable';
  message: string;
}

/** What a failed issueSession means for the job: 503 when STS is unreachable or throttling (after retries), 403 when AWS refuses this job, else 500. */
export function failureOf(err: unknown, role: RoleConfig): Failure {
  const chain = causeChain(err);
  const message = err instanceof Error ? err.message : String(err);
  if (chain.some((e) => isTransient(e) || /^IDPCommunicationError/.test(errorCode(e)))) {
    return { status: 503, code: 'ServiceUnavailable', message: `STS is unreachable or throttling for role "${role.name}" after retries; try again shortly` };
  }
  // web-identity: AWS's trust policy refused this job's token (the job's fault, as in the driver).
  if (err instanceof BuildFailure) return { status: 403, code: 'AccessDenied', message };
  if (chain.some((e) => isMissingHostCredentials(e))) {
    return {
      status: 500,
      code: 'InternalError',
      message: `the broker has no AWS credentials to assume role "${role.name}" with; the operator must give it an instance profile, task role or IRSA`,
    };
  }
  return { status: 500, code: 'InternalError', message: `credentials for role "${role.name}" cannot be issued; the broker's log says why` };
}
