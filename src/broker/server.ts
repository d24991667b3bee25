// The per-job credentials endpoint: serves the AWS container-credentials protocol on 127.0.0.1 to the job only.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { IssuedSession, SessionSource } from '../core/credential-types.js';
import { connectionGate, type GateLimits } from './connection-gate.js';
import { runAt } from './later.js';
import { resolvePeerUidFromProc } from './peer-uid.js';
import { startRefresher, type RetryPolicy } from './refresher.js';
import { checkRequest, tokenDigest } from './request-guard.js';

import type { BrokerEvent, BrokerEventType } from './events.js';

export type { BrokerEvent, BrokerEventType } from './events.js';

export interface CredentialServerOptions {
  token: string;
  /** undefined = no uid check (isolation none). */
  allowedUids: number[] | undefined;
  source: SessionSource;
  initial: IssuedSession;
  refreshBeforeSeconds: number;
  /** Also ask the source this often (ms): it rotates credentials by itself (IMDS). */
  pollMs?: number;
  deadline: Date;
  now?: () => Date;
  /** Called for every session obtained by a refresh (not for `initial`). */
  onIssue?: (s: IssuedSession) => void;
  /** Never carries a secret. */
  onEvent?: (e: BrokerEvent) => void;
  resolvePeerUid?: (remotePort: number, localPort: number, addresses?: { remote: string; local: string }) => Promise<number | undefined>;
  /** Backoff between failed refreshes; default 1 s doubling up to 30 s. */
  retry?: RetryPolicy;
  /** Connection caps and the first-request deadline (DEFAULT_GATE_LIMITS). */
  limits?: Partial<GateLimits>;
  /** Inactivity timeout of an admitted connection, and keep-alive idle time; default 5000 ms. */
  idleMs?: number;
}

export interface CredentialServer {
  port: number;
  /** http://127.0.0.1:PORT/creds */
  url: string;
  /** Resolves when the server has stopped: 'deadline' when it stopped by itself, 'closed' after close(). */
  done: Promise<'deadline' | 'closed'>;
  close(): Promise<void>;
}

const CREDENTIALS_PATH = '/creds';

/** Connections the kernel queues before we accept them (clamped to net.core.somaxconn): a burst of connects
 *  from a flooder is accepted, checked and reset rather than left to drop the job's own SYNs. */
const LISTEN_BACKLOG = 4096;

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
  /** The uid each admitted socket was checked for (at accept, once per connection). */
  const peerUids = new WeakMap<Socket, number>();
  let port = 0;
  let stopped = false;

  const refresher = startRefresher({
    source: opts.source,
    initial: opts.initial,
    refreshBeforeSeconds: opts.refreshBeforeSeconds,
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    now: nowMs,
    retry: opts.retry ?? { initialMs: 1000, maxMs: 30_000 },
    onIssue: (s) => opts.onIssue?.(s),
    onEvent: emit,
  });

  const deny = (res: ServerResponse, status: number, code: string, reason: string, req: IncomingMessage): void => {
    emit('deny', `${reason} from port ${req.socket.remotePort ?? '?'}`);
    send(res, status, { Code: code, Message: `request refused: ${reason}` });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (stopped || nowMs() >= opts.deadline.getTime()) return deny(res, 403, 'AccessDenied', 'job-over', req);
    const denial = checkRequest(req, port, expected);
    if (denial !== undefined) return deny(res, denial.status, denial.code, denial.reason, req);
    // The gate admitted this connection only after checking its uid; a socket it did not admit never gets here.
    const uid = peerUids.get(req.socket);
    if (allowed !== undefined && (uid === undefined || !allowed.has(uid))) return deny(res, 403, 'AccessDenied', 'uid not checked', req);
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

  const idleMs = opts.idleMs ?? 5000;
  // Not listening itself: the gate hands it connections (still paused, unread) once their uid is allowed.
  const http = createServer({ keepAliveTimeout: idleMs, maxHeaderSize: 16 * 1024 }, (req, res) => {
    gate.requestStarted(req.socket);
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { Code: 'InternalError', Message: 'internal error' });
      else res.destroy();
    });
  });
  http.maxHeadersCount = 50;
  http.timeout = idleMs; // inactivity of an admitted connection: destroyed

  const gate = connectionGate({
    allowedUids: allowed,
    resolveUid: (socket) => resolveUid(socket.remotePort ?? 0, socket.localPort ?? 0, { remote: socket.remoteAddress ?? '', local: socket.localAddress ?? '' }),
    admit: (socket, uid) => {
      if (uid !== 'unchecked') peerUids.set(socket, uid);
      http.emit('connection', socket);
      socket.resume();
    },
    onDeny: (reason, socket) => emit('deny', `${reason}; connection from port ${socket.remotePort ?? '?'} reset`),
    ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
  });
  const server = createNetServer({ pauseOnConnect: true }, (socket) => gate.onConnection(socket));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true, backlog: LISTEN_BACKLOG }, () => {
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
    gate.closeAll();
    await closed;
    finish(how);
  };

  const deadlineTimer = runAt(opts.deadline.getTime(), nowMs, () => {
    emit('deadline', `job deadline ${opts.deadline.toISOString()} reached; endpoint stopped`);
    void shutdown('deadline');
  });

  return { port, url: `http://127.0.0.1:${port}${CREDENTIALS_PATH}`, done, close: () => shutdown('closed') };
}
