// The broker's HTTP routes: GET /v1/credentials/<role> (container-credentials protocol) and GET /healthz.

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditLog } from '../audit/audit-log.js';
import type { JobroleConfig, RoleConfig } from '../config/types.js';
import type { IssuedSession } from '../core/credential-types.js';
import type { AccessEntry, AccessLog } from './access-log.js';
import type { Authenticator } from './auth.js';
import { failureOf, issueSession, type StsClients } from './issue.js';
import type { PolicySource } from './policy-source.js';
import type { RateLimiter } from './rate-limit.js';
import type { SessionCache } from './session-cache.js';
import { decideForToken, jobFromToken, refusalMessage } from './token-job.js';

const CREDENTIALS_PREFIX = '/v1/credentials/';
const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface RouteDeps {
  auth: Authenticator;
  policy: PolicySource;
  cache: SessionCache;
  limiter: RateLimiter;
  sts: StsClients;
  audit: AuditLog;
  accessLog: AccessLog;
  /** True once the config and GitLab's signing keys are loaded. */
  healthy: () => Promise<boolean>;
  draining: () => boolean;
  /** Operator-facing trouble (stderr); never a secret. */
  warn: (message: string) => void;
  now?: () => number;
}

/** RFC 3339 without milliseconds, as IMDS and ECS write it. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Errors carry the contract's code/message and the Code/Message the AWS SDKs surface to the job. */
function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { code, message, Code: code, Message: message }, headers);
}

function credentialsBody(s: IssuedSession, roleArn: string, tokenExpSeconds: number): Record<string, string> {
  // Never advertise a lifetime beyond the token's: the SDK comes back (and is refused) once the job is over.
  const exp = Math.min(s.credentials.expiration.getTime(), tokenExpSeconds * 1000);
  return {
    AccessKeyId: s.credentials.accessKeyId,
    SecretAccessKey: s.credentials.secretAccessKey,
    Token: s.credentials.sessionToken,
    Expiration: rfc3339(new Date(exp)),
    RoleArn: roleArn,
  };
}

/** The session cache's key: the job and all of the role that shapes its session, so a changed policy means a new session. */
function sessionKey(jobId: number, role: RoleConfig): string {
  const shape = JSON.stringify([role.arn, role.strategy, role.max_duration, role.session_policy, role.policy_arns]);
  return `${jobId}\u0000${role.name}\u0000${createHash('sha256').update(shape).digest('base64url')}`;
}

export function createHandler(deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const now = deps.now ?? Date.now;

  const credentials = async (req: IncomingMessage, res: ServerResponse, rawRole: string, entry: AccessEntry): Promise<void> => {
    const fail = (status: number, code: string, message: string, headers?: Record<string, string>) => {
      entry.status = status;
      entry.outcome = code;
      sendError(res, status, code, message, headers);
    };
    const auth = await deps.auth.authenticate(req.headers.authorization);
    if (!auth.ok) return fail(auth.status, auth.code, auth.message);
    const job = jobFromToken(auth.token);
    if ('problem' in job) return fail(401, 'InvalidToken', `The ID token was rejected: ${job.problem}.`);
    entry.project = job.project;
    entry.job_id = job.jobId;
    const at = now();
    if (auth.token.claims.exp * 1000 <= at) {
      return fail(401, 'InvalidToken', "The ID token has expired: the job's timeout is over, so it gets no more credentials.");
    }
    if (!deps.limiter.take(String(job.jobId))) {
      const wait = deps.limiter.retryAfter(String(job.jobId));
      return fail(429, 'Throttled', `too many credential requests for job ${job.jobId}; retry in ${wait} s`, { 'retry-after': String(wait) });
    }
    let config: JobroleConfig;
    try {
      config = await deps.policy.current();
    } catch (err) {
      deps.warn(`cannot load the policy: ${(err as Error).message}`);
      return fail(503, 'ServiceUnavailable', 'the broker cannot load its policy right now; try again shortly');
    }
    const decision = decideForToken(job, rawRole, config);
    const base = { job_id: job.jobId, project: job.project, project_id: job.projectId, ref: job.ctx.ref.value, role: rawRole };
    if (decision.kind !== 'allow') {
      const message = decision.kind === 'deny' ? refusalMessage(decision) : `role "${rawRole}" is refused`;
      void deps.audit.write({ event: 'decision', ...base, outcome: 'deny', detail: message, via: 'serve' });
      return fail(403, 'AccessDenied', message);
    }
    const role = decision.role;
    entry.role = role.name;
    let answer;
    try {
      answer = await deps.cache.get(sessionKey(job.jobId, role), () => issueSession(deps.sts, config, role, job, now()));
    } catch (err) {
      const f = failureOf(err, role);
      deps.warn(`job ${job.jobId} (${job.project}), role "${role.name}": ${(err as Error).message}`);
      void deps.audit.write({ event: 'issue', ...base, role_arn: role.arn, outcome: 'failed', detail: (err as Error).message, via: 'serve' });
      return fail(f.status, f.code, f.message);
    }
    const s = answer.session;
    if (answer.outcome === 'issued' || answer.outcome === 'refreshed') {
      if (answer.outcome === 'issued')
        void deps.audit.write({ event: 'decision', ...base, role_arn: role.arn, outcome: 'allow', detail: 'requested by URL', via: 'serve' });
      void deps.audit.write({
        event: answer.outcome === 'issued' ? 'issue' : 'refresh',
        ...base,
        role_arn: role.arn,
        session_name: s.sessionName,
        ...(s.sourceIdentity !== undefined ? { source_identity: s.sourceIdentity } : {}),
        expiration: s.credentials.expiration.toISOString(),
        access_key_id: s.credentials.accessKeyId,
        outcome: 'ok',
        via: 'serve',
      });
    } else if (answer.outcome === 'stale') {
      deps.warn(
        `job ${job.jobId}, role "${role.name}": renewing failed (${(answer.renewError as Error)?.message ?? 'unknown'}); serving the session expiring ${s.credentials.expiration.toISOString()}`,
      );
    }
    entry.status = 200;
    entry.outcome = answer.outcome;
    send(res, 200, credentialsBody(s, role.arn, auth.token.claims.exp));
  };

  return async (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '').split('?')[0] ?? '';
    const entry: AccessEntry = {
      status: 0,
      method: req.method ?? '?',
      route: 'other',
      ms: 0,
      ...(req.socket.remoteAddress !== undefined ? { remote: req.socket.remoteAddress } : {}),
    };
    try {
      if (path === '/healthz') {
        entry.route = 'healthz';
        const ok = !deps.draining() && (await deps.healthy().catch(() => false));
        entry.status = ok ? 200 : 503;
        send(res, entry.status, { status: ok ? 'ok' : deps.draining() ? 'draining' : 'starting' });
      } else if (path.startsWith(CREDENTIALS_PREFIX)) {
        entry.route = 'credentials';
        let role: string;
        try {
          role = decodeURIComponent(path.slice(CREDENTIALS_PREFIX.length));
        } catch {
          role = '';
        }
        if (req.method !== 'GET') {
          entry.status = 405;
          sendError(res, 405, 'MethodNotAllowed', 'only GET is served', { allow: 'GET' });
        } else if (!ROLE_NAME.test(role)) {
          entry.status = 404;
          sendError(res, 404, 'NotFound', 'expected /v1/credentials/<role>, where <role> is a role name offered by this broker');
        } else {
          entry.role = role;
          await credentials(req, res, role, entry);
        }
      } else {
        entry.status = 404;
        sendError(res, 404, 'NotFound', 'unknown path: credentials are at /v1/credentials/<role>');
      }
    } catch (err) {
      deps.warn(`internal error: ${(err as Error).message}`);
      entry.status = 500;
      if (!res.headersSent) sendError(res, 500, 'InternalError', 'internal error');
      else res.destroy();
    } finally {
      entry.ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.accessLog(entry);
    }
  };
}
