// The per-job credentials endpoint: serves the AWS container-credentials protocol on 127.0.0.1 to the job only.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { IssuedSession, SessionSource } from '../credentials/types.js';
import { runAt } from './later.js';
import { resolvePeerUidFromProc } from './peer-uid.js';
import { startRefresher, type RetryPolicy } from './refresher.js';
import { checkRequest, tokenDigest } from './request-guard.js';

export type BrokerEventType = 'serve' | 'deny' | 'refresh' | 'refresh-failed' | 'deadline';

export interface CredentialServerOptions {
  token: string;
  /** undefined = no uid check (isolation none). */
  allowedUids: number[] | undefined;
  source: SessionSource;
  initial: IssuedSession;
  refreshBeforeSeconds: number;
  deadline: Date;
  now?: () => Date;
  /** Called for every session obtained by a refresh (not for `initial`). */
  onIssue?: (s: IssuedSession) => void;
  /** Never carries a secret. */
  onEvent?: (e: { type: BrokerEventType; detail: string }) => void;
  resolvePeerUid?: (remotePort: number, localPort: number, addresses?: { remote: string; local: string }) => Promise<number | undefined>;
  /** Backoff between failed refreshes; default 1 s doubling up to 30 s. */
  retry?: RetryPolicy;
}

export interface CredentialServer {
  port: number;
  /** http://127.0.0.1:PORT/creds */
  url: string;
  /** Resolves when the server has stopped: 'deadline' when it stopped by itself, 'closed' after close(). */
  done: Promise<'deadline' | 'closed'>;
  close(): Promise<void>;
}

export const CREDENTIALS_PATH = '/creds';

/** RFC 3339 without milliseconds, as IMDS and ECS write it. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export async function startCredentialServer(opts: CredentialServerOptions): Promise<CredentialServer> {
  const now = opts.now ?? (() => new Date());
  const nowMs = (): number => now().getTime();
  const emit = (type: BrokerEventType, detail: string): void => opts.onEvent?.({ type, detail });
  const expected = tokenDigest(opts.token);
  const resolveUid = opts.resolvePeerUid ?? resolvePeerUidFromProc;
  const allowed = opts.allowedUids === undefined ? undefined : new Set(opts.allowedUids);
  const peerUids = new WeakMap<Socket, Promise<number | undefined>>();
  let port = 0;
  let stopped = false;

  const refresher = startRefresher({
    source: opts.source,
    initial: opts.initial,
    refreshBeforeSeconds: opts.refreshBeforeSeconds,
    now: nowMs,
    retry: opts.retry ?? { initialMs: 1000, maxMs: 30_000 },
    onIssue: (s) => opts.onIssue?.(s),
    onEvent: emit,
  });

  const deny = (res: ServerResponse, status: number, code: string, reason: string, req: IncomingMessage): void => {
    emit('deny', `${reason} from port ${req.socket.remotePort ?? '?'}`);
    send(res, status, { Code: code, Message: `request refused: ${reason}` });
  };

  /** uid of the connecting socket, looked up once per connection (keep-alive clients ask many times). */
  const peerUid = (socket: Socket): Promise<number | undefined> => {
    let p = peerUids.get(socket);
    if (p === undefined) {
      const remote = socket.remoteAddress ?? '';
      const local = socket.localAddress ?? '';
      p = resolveUid(socket.remotePort ?? 0, socket.localPort ?? 0, { remote, local }).catch(() => undefined);
      peerUids.set(socket, p);
    }
    return p;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (stopped || nowMs() >= opts.deadline.getTime()) return deny(res, 403, 'AccessDenied', 'job-over', req);
    const denial = checkRequest(req, port, expected);
    if (denial !== undefined) return deny(res, denial.status, denial.code, denial.reason, req);
    let uid: number | undefined;
    if (allowed !== undefined) {
      uid = await peerUid(req.socket);
      if (uid === undefined || !allowed.has(uid)) return deny(res, 403, 'AccessDenied', `uid ${uid ?? 'unknown'} not allowed`, req);
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== CREDENTIALS_PATH) return deny(res, 404, 'NotFound', 'unknown path', req);
    if (req.method !== 'GET') return deny(res, 405, 'MethodNotAllowed', `method ${req.method ?? '?'}`, req);
    const s = refresher.current();
    if (s.credentials.expiration.getTime() <= nowMs()) {
      return deny(res, 503, 'CredentialsUnavailable', 'credentials expired and refresh has not succeeded', req);
    }
    emit('serve', `uid ${uid ?? 'unchecked'}: session ${s.sessionName} expiring ${rfc3339(s.credentials.expiration)}`);
    send(res, 200, {
      AccessKeyId: s.credentials.accessKeyId,
      SecretAccessKey: s.credentials.secretAccessKey,
      Token: s.credentials.sessionToken,
      Expiration: rfc3339(s.credentials.expiration),
      RoleArn: s.roleArn,
    });
  };

  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { Code: 'InternalError', Message: 'internal error' });
      else res.destroy();
    });
  });
  server.maxHeadersCount = 50;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  let finish: (how: 'deadline' | 'closed') => void = () => {};
  const done = new Promise<'deadline' | 'closed'>((resolve) => (finish = resolve));

  const shutdown = async (how: 'deadline' | 'closed'): Promise<void> => {
    if (stopped) return;
    stopped = true;
    deadlineTimer.cancel();
    refresher.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    finish(how);
  };

  const deadlineTimer = runAt(opts.deadline.getTime(), nowMs, () => {
    emit('deadline', `job deadline ${opts.deadline.toISOString()} reached; endpoint stopped`);
    void shutdown('deadline');
  });

  return { port, url: `http://127.0.0.1:${port}${CREDENTIALS_PATH}`, done, close: () => shutdown('closed') };
}
