// Sessions cached per (job, role): renewed refresh_before expiry, one STS call shared by concurrent asks, bounded.

import type { IssuedSession } from '../core/credential-types.js';
import { refreshTime } from '../broker/refresher.js';
import { LruMap } from './lru.js';

export type CacheOutcome = 'hit' | 'issued' | 'refreshed' | 'shared' | 'stale';

export interface CacheAnswer {
  session: IssuedSession;
  /** hit: cached; issued/refreshed: this request made the STS call; shared: waited on another request's call;
   *  stale: renewal failed, the previous session (still valid a while) is served. */
  outcome: CacheOutcome;
  /** Set with 'stale': why renewing failed. */
  renewError?: unknown;
}

export interface SessionCacheOptions {
  /** [job].refresh_before, seconds. */
  refreshBeforeSeconds: number;
  /** [serve].max_cached. */
  maxEntries: number;
  now?: () => number;
  /** A session with less than this (or a quarter of its life, if shorter) left is never served; default 60 s. */
  minValidityMs?: number;
}

interface Entry {
  session: IssuedSession;
  obtainedAt: number;
}

export interface SessionCache {
  /** The cached session for key, or the one `obtain` brings (shared with every concurrent caller of the same key). */
  get(key: string, obtain: () => Promise<IssuedSession>): Promise<CacheAnswer>;
  /** Drops expired sessions; returns how many. */
  sweep(): number;
  readonly size: number;
  /** STS calls in flight. */
  readonly inflight: number;
}

export function sessionCache(opts: SessionCacheOptions): SessionCache {
  const now = opts.now ?? Date.now;
  const minValidity = opts.minValidityMs ?? 60_000;
  const entries = new LruMap<string, Entry>(opts.maxEntries);
  const pending = new Map<string, Promise<IssuedSession>>();

  const usable = (e: Entry, at: number) => {
    const exp = e.session.credentials.expiration.getTime();
    return exp - at > Math.min(minValidity, (exp - e.obtainedAt) / 4);
  };

  return {
    async get(key, obtain) {
      const at = now();
      const entry = entries.get(key);
      if (
        entry !== undefined &&
        at < refreshTime(entry.session.credentials.expiration.getTime(), entry.obtainedAt, opts.refreshBeforeSeconds) &&
        usable(entry, at)
      ) {
        return { session: entry.session, outcome: 'hit' };
      }
      const running = pending.get(key);
      if (running !== undefined) {
        try {
          return { session: await running, outcome: 'shared' };
        } catch (err) {
          if (entry !== undefined && usable(entry, now())) return { session: entry.session, outcome: 'stale', renewError: err };
          throw err;
        }
      }
      const call = obtain().then((session) => {
        entries.set(key, { session, obtainedAt: now() });
        return session;
      });
      pending.set(key, call);
      const cleanup = () => {
        if (pending.get(key) === call) pending.delete(key);
      };
      call.then(cleanup, cleanup);
      try {
        return { session: await call, outcome: entry === undefined ? 'issued' : 'refreshed' };
      } catch (err) {
        if (entry !== undefined && usable(entry, now())) return { session: entry.session, outcome: 'stale', renewError: err };
        throw err;
      }
    },
    sweep() {
      const at = now();
      return entries.sweep((e) => e.session.credentials.expiration.getTime() <= at);
    },
    get size() {
      return entries.size;
    },
    get inflight() {
      return pending.size;
    },
  };
}
