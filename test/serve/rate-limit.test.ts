// Unit tests of the per-job rate limit: bursts, refill, independence of jobs, bounded memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimiter } from '../../src/serve/rate-limit.js';
import { LruMap } from '../../src/serve/lru.js';

test('a burst of 5x the rate, then the rate; other jobs unaffected', () => {
  let t = 0;
  const rl = rateLimiter({ perSecond: 2, maxKeys: 100, now: () => t });
  const taken = Array.from({ length: 12 }, () => rl.take('job1'));
  assert.equal(taken.filter(Boolean).length, 10);
  assert.equal(rl.take('job1'), false);
  assert.equal(rl.retryAfter('job1'), 1);
  assert.equal(rl.take('job2'), true);
  t += 500;
  assert.equal(rl.take('job1'), true, 'one token back after half a second at 2/s');
  assert.equal(rl.take('job1'), false);
  t += 60_000;
  assert.equal(Array.from({ length: 11 }, () => rl.take('job1')).filter(Boolean).length, 10, 'refills only up to the burst');
});

test('the number of tracked jobs is capped', () => {
  const rl = rateLimiter({ perSecond: 1, maxKeys: 50, now: () => 0 });
  for (let i = 0; i < 1000; i++) rl.take(`job${i}`);
  assert.equal(rl.size, 50);
});

test('LruMap: get refreshes recency, peek does not, eviction calls back', () => {
  const evicted: string[] = [];
  const m = new LruMap<string, number>(2, (k) => evicted.push(k));
  m.set('a', 1);
  m.set('b', 2);
  m.get('a');
  m.set('c', 3);
  assert.deepEqual(evicted, ['b']);
  m.peek('a');
  m.set('d', 4);
  assert.deepEqual(evicted, ['b', 'a'], 'peek left a the least recently used');
  assert.equal(m.get('a'), undefined);
  assert.equal(m.get('c'), 3);
  assert.throws(() => new LruMap(0), RangeError);
});
