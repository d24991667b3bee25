// Per-job request rate limit: a token bucket per key (rate per second, bursts of 5x), bounded in memory.

import { LruMap } from './lru.js';

export interface RateLimiter {
  /** True when the request may go ahead; false = answer 429. */
  take(key: string): boolean;
  /** Seconds until the key has a token again (for Retry-After). */
  retryAfter(key: string): number;
  readonly size: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function rateLimiter(opts: { perSecond: number; burst?: number; maxKeys: number; now?: () => number }): RateLimiter {
  const now = opts.now ?? Date.now;
  const burst = opts.burst ?? opts.perSecond * 5;
  // A forgotten (evicted) job simply starts with a full bucket again: memory stays bounded, limits stay sane.
  const buckets = new LruMap<string, Bucket>(opts.maxKeys);
  const refill = (key: string): Bucket => {
    const at = now();
    const b = buckets.get(key) ?? { tokens: burst, at };
    b.tokens = Math.min(burst, b.tokens + ((at - b.at) / 1000) * opts.perSecond);
    b.at = at;
    buckets.set(key, b);
    return b;
  };
  return {
    take(key) {
      const b = refill(key);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    retryAfter(key) {
      const b = buckets.peek(key);
      if (b === undefined || b.tokens >= 1) return 0;
      return Math.max(1, Math.ceil((1 - b.tokens) / opts.perSecond));
    },
    get size() {
      return buckets.size;
    },
  };
}
