// Keys from GitLab's OIDC discovery, cached on disk with a TTL; one fetch at a time, none soon after a failure.

import { SystemFailure } from '../core/exit-codes.js';
import { defaultFetch, discoverJwks, type FetchLike } from './discovery.js';
import { readJwksCache, writeJwksCache, type JwksCacheEntry } from './jwks-cache.js';
import { discoveryUrl, normaliseIssuer } from './issuer.js';
import type { JSONWebKeySet, JwksSource, RefreshResult } from './jwks-source.js';

export interface DiscoveryOptions {
  /** [gitlab].url. */
  issuer: string;
  /** The cache file; its directory is created 0700 when missing. */
  cachePath: string;
  /** [gitlab].jwks_cache_ttl: within it the cache is used without any network call. */
  ttlSeconds: number;
  fetch?: FetchLike;
  now?: () => Date;
  /** Per request; default 5000. */
  timeoutMs?: number;
  /**
   * An unknown key id triggers a refetch only if the keys are older than this; default 30. After a failed fetch,
   * keys() too waits this long before fetching again (serving the cached keys meanwhile, or the same failure).
   */
  minRefetchSeconds?: number;
  /** Non-fatal trouble (stale cache used, cache unwritable); default: ignored. */
  warn?: (message: string) => void;
}

const FUTURE_TOLERANCE_MS = 60_000;

function refetchFailed(err: unknown): never {
  if (err instanceof SystemFailure) {
    throw new SystemFailure(`The ID token names a key GitLab's cached keys lack, and refetching them failed: ${err.message}`, { cause: err });
  }
  throw err;
}

export function jwksFromDiscovery(opts: DiscoveryOptions): JwksSource {
  const issuer = normaliseIssuer(opts.issuer);
  const fetchFn = opts.fetch ?? defaultFetch;
  const now = () => (opts.now ?? (() => new Date()))().getTime();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const minRefetchMs = (opts.minRefetchSeconds ?? 30) * 1000;
  const warn = opts.warn ?? (() => undefined);
  let entry: JwksCacheEntry | undefined;
  let loading: Promise<void> | undefined;
  let inflight: Promise<JSONWebKeySet> | undefined;
  let lastAttempt: number | undefined;
  let lastFailure: Error | undefined;
  let attempts = 0;
  let warnedAttempt = 0;

  /** The on-disk cache, read once (concurrent first callers share the read; a failed read is tried again). */
  const load = async (): Promise<JwksCacheEntry | undefined> => {
    loading ??= readJwksCache(opts.cachePath, issuer, warn).then(
      (read) => {
        entry ??= read;
      },
      (err: unknown) => {
        loading = undefined;
        throw err;
      },
    );
    await loading;
    return entry;
  };
  /** Age in ms, or undefined when the timestamp is implausibly in the future (clock moved back): treat as stale. */
  const age = (at: number): number | undefined => {
    const a = now() - at;
    return a < -FUTURE_TOLERANCE_MS ? undefined : Math.max(a, 0);
  };
  /** The last fetch's failure when it was less than minRefetchSeconds ago: do not ask GitLab again yet. */
  const recentFailure = (): Error | undefined => {
    if (lastFailure === undefined || lastAttempt === undefined) return undefined;
    const a = age(lastAttempt);
    return a !== undefined && a < minRefetchMs ? lastFailure : undefined;
  };
  const fetchNow = async (): Promise<JSONWebKeySet> => {
    lastAttempt = now();
    attempts += 1;
    let found;
    try {
      found = await discoverJwks(issuer, fetchFn, timeoutMs);
      lastFailure = undefined;
    } catch (err) {
      lastFailure = err as Error;
      throw err;
    }
    entry = { issuer, jwksUri: found.jwksUri, fetchedAt: now(), jwks: found.jwks };
    try {
      await writeJwksCache(opts.cachePath, entry);
    } catch (err) {
      warn(`Cannot write the JWKS cache ${opts.cachePath} (${(err as Error).message}); keys will be fetched again next time.`);
    }
    return found.jwks;
  };
  /** One fetch at a time: concurrent callers share it (and its one cache write). */
  const fetchShared = (): Promise<JSONWebKeySet> => {
    inflight ??= fetchNow().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  return {
    description: `GitLab's keys (via ${discoveryUrl(issuer)})`,
    async keys() {
      const cached = await load();
      const a = cached === undefined ? undefined : age(cached.fetchedAt);
      if (cached !== undefined && a !== undefined && a < opts.ttlSeconds * 1000) return cached.jwks;
      const failed = inflight === undefined ? recentFailure() : undefined;
      if (failed !== undefined) {
        if (cached === undefined) throw failed;
        return cached.jwks;
      }
      try {
        return await fetchShared();
      } catch (err) {
        if (cached === undefined) throw err;
        if (warnedAttempt !== attempts) {
          warnedAttempt = attempts;
          warn(`${(err as Error).message} Using the cached keys from ${new Date(cached.fetchedAt).toISOString()} instead.`);
        }
        return cached.jwks;
      }
    },
    async refresh(): Promise<RefreshResult> {
      const cached = await load();
      if (inflight !== undefined) return { jwks: await inflight.catch((err: unknown) => refetchFailed(err)) };
      const last = Math.max(cached?.fetchedAt ?? -Infinity, lastAttempt ?? -Infinity);
      const a = Number.isFinite(last) ? age(last) : undefined;
      if (a !== undefined && a < minRefetchMs) {
        if (lastFailure !== undefined) {
          throw new SystemFailure(`The ID token names a key the cached keys lack, and GitLab's keys cannot be fetched: ${lastFailure.message}`, {
            cause: lastFailure,
          });
        }
        return { why: `GitLab's keys were fetched ${Math.round(a / 1000)} s ago, so they are not fetched again yet` };
      }
      return { jwks: await fetchShared().catch((err: unknown) => refetchFailed(err)) };
    },
  };
}
