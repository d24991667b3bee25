// Keeps a job's session fresh: fetches a new one well before expiry, retries with backoff, never drops a valid one.

import type { IssuedSession, SessionSource } from '../core/credential-types.js';
import { runAt, type Later } from './later.js';

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

export interface RefresherOptions {
  source: SessionSource;
  initial: IssuedSession;
  refreshBeforeSeconds: number;
  /**
   * Also ask the source again this often (ms), for a source that rotates credentials by itself (IMDS renews an
   * instance profile's well before they expire): an answer with the same key is not a new session.
   */
  pollMs?: number;
  now: () => number;
  retry: RetryPolicy;
  onIssue: (s: IssuedSession) => void;
  onEvent: (type: 'refresh' | 'refresh-failed', detail: string) => void;
}

export interface Refresher {
  current(): IssuedSession;
  stop(): void;
}

/**
 * When to refresh a session obtained at `obtainedAt`: refreshBeforeSeconds before it expires, but not before
 * half its remaining lifetime has passed — a 15-minute session with a 15-minute margin would otherwise be
 * refreshed in a tight loop. Either way clients are always served credentials with time left.
 */
export function refreshTime(expiresAt: number, obtainedAt: number, refreshBeforeSeconds: number): number {
  return Math.max(expiresAt - refreshBeforeSeconds * 1000, obtainedAt + (expiresAt - obtainedAt) / 2);
}

function describe(s: IssuedSession): string {
  return `session ${s.sessionName} of ${s.roleArn} expiring ${s.credentials.expiration.toISOString()}`;
}

export function startRefresher(opts: RefresherOptions): Refresher {
  let session = opts.initial;
  let pending: Later | undefined;
  let stopped = false;
  let failures = 0;

  const scheduleFor = (s: IssuedSession, obtainedAt: number): void => {
    const due = refreshTime(s.credentials.expiration.getTime(), obtainedAt, opts.refreshBeforeSeconds);
    const at = opts.pollMs !== undefined ? Math.min(due, obtainedAt + opts.pollMs) : due;
    pending = runAt(Math.max(at, opts.now() + opts.retry.initialMs), opts.now, attempt, true);
  };

  const attempt = (): void => {
    pending = undefined;
    opts.source().then(
      (next) => {
        if (stopped) return;
        failures = 0;
        if (next.credentials.accessKeyId === session.credentials.accessKeyId) {
          session = next; // same key (a source that rotates by itself has not rotated yet)
          scheduleFor(next, opts.now());
          return;
        }
        session = next;
        opts.onEvent('refresh', describe(next));
        opts.onIssue(next);
        scheduleFor(next, opts.now());
      },
      (err: unknown) => {
        if (stopped) return;
        failures++;
        const delay = Math.min(opts.retry.maxMs, opts.retry.initialMs * 2 ** (failures - 1));
        const jittered = delay / 2 + Math.random() * (delay / 2);
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        opts.onEvent('refresh-failed', `attempt ${failures} failed (${reason}); retrying in ${Math.round(jittered)} ms`);
        pending = runAt(opts.now() + jittered, opts.now, attempt, true);
      },
    );
  };

  scheduleFor(session, opts.now());
  return {
    current: () => session,
    stop() {
      stopped = true;
      pending?.cancel();
      pending = undefined;
    },
  };
}
