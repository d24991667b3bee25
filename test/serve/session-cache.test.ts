// Unit tests of the broker's session cache: hits, single-flight, renewal timing, stale-on-error, LRU cap, sweep.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionCache } from '../../src/serve/session-cache.js';
import type { IssuedSession } from '../../src/core/credential-types.js';

function session(id: string, expiresAt: number): IssuedSession {
  return {
    credentials: { accessKeyId: id, secretAccessKey: 's', sessionToken: 't', expiration: new Date(expiresAt) },
    roleArn: 'arn:aws:iam::111122223333:role/r',
    sessionName: 'gitlab-1-2',
  };
}

function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

test('a cached session is served without calling STS until refresh_before its expiry', async () => {
  const c = clock();
  const cache = sessionCache({ refreshBeforeSeconds: 1200, maxEntries: 100, now: c.now });
  let calls = 0;
  const obtain = async () => session(`K${++calls}`, c.now() + 3600_000);
  assert.equal((await cache.get('a', obtain)).outcome, 'issued');
  for (let i = 0; i < 30; i++) assert.equal((await cache.get('a', obtain)).outcome, 'hit');
  assert.equal(calls, 1);
  c.advance(2399_000);
  assert.equal((await cache.get('a', obtain)).outcome, 'hit', 'not yet 20 min before expiry');
  c.advance(2_000);
  const renewed = await cache.get('a', obtain);
  assert.equal(renewed.outcome, 'refreshed');
  assert.equal(renewed.session.credentials.accessKeyId, 'K2');
  assert.equal(calls, 2);
});

test('concurrent first asks share one call; a failure is shared too and not cached', async () => {
  const c = clock();
  const cache = sessionCache({ refreshBeforeSeconds: 60, maxEntries: 100, now: c.now });
  let calls = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const obtain = async () => {
    calls++;
    await gate;
    return session('K', c.now() + 900_000);
  };
  const all = Promise.all(Array.from({ length: 20 }, () => cache.get('j', obtain)));
  assert.equal(cache.inflight, 1);
  release();
  const answers = await all;
  assert.equal(calls, 1);
  assert.deepEqual([...new Set(answers.map((a) => a.outcome))].sort(), ['issued', 'shared']);
  assert.equal(cache.inflight, 0);

  let failing = 0;
  const boom = async () => {
    failing++;
    throw new Error('Throttling');
  };
  const results = await Promise.allSettled([cache.get('k', boom), cache.get('k', boom)]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.equal(failing, 1);
  await assert.rejects(cache.get('k', boom));
  assert.equal(failing, 2, 'a failure is not remembered: the next ask tries again');
});

test('a failed renewal serves the previous session while it has time left, never an expiring one', async () => {
  const c = clock();
  const cache = sessionCache({ refreshBeforeSeconds: 1200, maxEntries: 100, now: c.now });
  await cache.get('a', async () => session('OLD', c.now() + 3600_000));
  c.advance(3000_000);
  const stale = await cache.get('a', async () => {
    throw new Error('STS down');
  });
  assert.equal(stale.outcome, 'stale');
  assert.equal(stale.session.credentials.accessKeyId, 'OLD');
  c.advance(560_000);
  await assert.rejects(
    cache.get('a', async () => {
      throw new Error('STS down');
    }),
    /STS down/,
    'with 40 s left the old session is not served',
  );
});

test('short sessions are renewed at half-life, not on every ask', async () => {
  const c = clock();
  const cache = sessionCache({ refreshBeforeSeconds: 1200, maxEntries: 100, now: c.now });
  let calls = 0;
  const obtain = async () => session(`K${++calls}`, c.now() + 900_000);
  await cache.get('a', obtain);
  c.advance(449_000);
  assert.equal((await cache.get('a', obtain)).outcome, 'hit');
  c.advance(2_000);
  assert.equal((await cache.get('a', obtain)).outcome, 'refreshed');
});

test('memory stays bounded: the least recently used entry goes at the cap, and sweep drops expired ones', async () => {
  const c = clock();
  const cache = sessionCache({ refreshBeforeSeconds: 60, maxEntries: 3, now: c.now });
  let calls = 0;
  const obtain = (ms: number) => async () => session(`K${++calls}`, c.now() + ms);
  await cache.get('a', obtain(900_000));
  await cache.get('b', obtain(900_000));
  await cache.get('c', obtain(100_000));
  await cache.get('a', obtain(900_000)); // a is now the most recent
  await cache.get('d', obtain(900_000)); // evicts b
  assert.equal(cache.size, 3);
  assert.equal((await cache.get('a', obtain(900_000))).outcome, 'hit');
  assert.equal((await cache.get('b', obtain(900_000))).outcome, 'issued', 'b was evicted');
  c.advance(200_000);
  assert.equal(cache.sweep(), 0, "c was evicted by b's return, nothing expired yet");
  c.advance(800_000);
  assert.equal(cache.sweep(), 3);
  assert.equal(cache.size, 0);
});
