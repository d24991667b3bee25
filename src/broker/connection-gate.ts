// Admits a connection to the credentials endpoint only after its peer's uid is known and allowed, capped per uid.

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

export interface GateLimits {
  /** Connections accepted but whose uid is not known yet; beyond this, new ones are reset unread. */
  maxPending: number;
  /** Admitted (uid-checked) connections per uid; the job's own uid always has this much room. */
  maxPerUid: number;
  /** An admitted connection must complete its first request's headers within this time. */
  firstRequestMs: number;
}

/**
 * A foreign connection is reset within one uid lookup (a few ms), so a flood from another uid never holds
 * admitted room; the pending cap is a memory and descriptor safety valve sized above the listen backlog, so
 * that a burst of thousands of connects is looked up and shed rather than reset at random.
 */
export const DEFAULT_GATE_LIMITS: GateLimits = { maxPending: 8192, maxPerUid: 256, firstRequestMs: 5000 };

/** The soft RLIMIT_NOFILE of this process (/proc/self/limits), or undefined when it cannot be read. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (m === null) return undefined;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/**
 * The pending cap for a process allowed `fileLimit` descriptors: room is kept for every allowed uid's admitted
 * connections and a margin, so the cap (a chosen refusal) is reached before accept() fails with EMFILE — when
 * libuv would drop whatever waits in the backlog, the job's connections included.
 */
export function pendingCapFor(fileLimit: number | undefined, allowedUids: number, maxPerUid: number): number {
  if (fileLimit === undefined) return DEFAULT_GATE_LIMITS.maxPending;
  const room = fileLimit - Math.max(allowedUids, 1) * maxPerUid - 64;
  return Math.max(16, Math.min(DEFAULT_GATE_LIMITS.maxPending, room));
}

export interface ConnectionGateOptions {
  /** undefined = every peer is admitted unchecked (isolation "none"). */
  allowedUids: ReadonlySet<number> | undefined;
  resolveUid: (socket: Socket) => Promise<number | undefined>;
  /** Hands an admitted socket (still paused: nothing has been read from it) to the HTTP server. */
  admit: (socket: Socket, uid: number | 'unchecked') => void;
  /** Never carries a secret. */
  onDeny: (reason: string, socket: Socket) => void;
  limits?: Partial<GateLimits>;
}

export interface ConnectionGate {
  /** The `connection` listener of a net.Server created with `pauseOnConnect: true`. */
  onConnection(socket: Socket): void;
  /** To be called when an admitted socket's request headers are complete (the HTTP server's `request` event). */
  requestStarted(socket: Socket): void;
  counts(): { pending: number; admitted: Map<number | 'unchecked', number> };
  /** Refuses everything from now on and destroys every socket it knows. */
  closeAll(): void;
}

/** Closes with a TCP reset: no bytes are read, and no TIME_WAIT entry is left to swell /proc/net/tcp. */
function resetSocket(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export function connectionGate(opts: ConnectionGateOptions): ConnectionGate {
  const maxPerUid = opts.limits?.maxPerUid ?? DEFAULT_GATE_LIMITS.maxPerUid;
  const limits: GateLimits = {
    ...DEFAULT_GATE_LIMITS,
    maxPending: pendingCapFor(openFileLimit(), opts.allowedUids?.size ?? 1, maxPerUid),
    ...opts.limits,
  };
  const sockets = new Set<Socket>();
  const admitted = new Map<number | 'unchecked', number>();
  const firstRequest = new WeakMap<Socket, NodeJS.Timeout>();
  let pending = 0;
  let closed = false;

  const refuse = (socket: Socket, reason: string): void => {
    opts.onDeny(reason, socket);
    resetSocket(socket);
  };

  const admit = (socket: Socket, key: number | 'unchecked'): void => {
    const n = admitted.get(key) ?? 0;
    if (n >= limits.maxPerUid) return refuse(socket, `uid ${key}: already ${n} connections open (the limit)`);
    admitted.set(key, n + 1);
    socket.once('close', () => {
      const left = (admitted.get(key) ?? 1) - 1;
      if (left === 0) admitted.delete(key);
      else admitted.set(key, left);
    });
    const timer = setTimeout(() => {
      opts.onDeny(`uid ${key}: no complete request within ${limits.firstRequestMs} ms`, socket);
      socket.destroy();
    }, limits.firstRequestMs);
    timer.unref();
    firstRequest.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
    opts.admit(socket, key);
  };

  return {
    onConnection(socket) {
      socket.on('error', () => socket.destroy());
      if (closed) return resetSocket(socket);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      if (opts.allowedUids === undefined) return admit(socket, 'unchecked');
      if (pending >= limits.maxPending) return refuse(socket, `${pending} connections already wait for their uid check (the limit)`);
      pending++;
      const allowed = opts.allowedUids;
      opts.resolveUid(socket).then(
        (uid) => {
          pending--;
          if (closed || socket.destroyed) return;
          if (uid === undefined || !allowed.has(uid)) return refuse(socket, `uid ${uid ?? 'unknown'} not allowed`);
          admit(socket, uid);
        },
        () => {
          pending--;
          if (!socket.destroyed) refuse(socket, 'uid lookup failed');
        },
      );
    },
    requestStarted(socket) {
      const timer = firstRequest.get(socket);
      if (timer === undefined) return;
      clearTimeout(timer);
      firstRequest.delete(socket);
    },
    counts: () => ({ pending, admitted: new Map(admitted) }),
    closeAll() {
      closed = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
  };
}
