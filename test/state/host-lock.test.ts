// The one-job-per-host lock: exclusive, refuses live holders with who and since, takes over dead ones, releases only its own.

import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { acquireHostLock, HOST_LOCK_FILE, readHostLock, releaseHostLock } from '../../src/state/host-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobrole-host-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const alive = (keys: string[]) => ({ isJobAlive: async (k: string) => keys.includes(k) });

describe('host lock', () => {
  test('acquire writes {jobKey, pid, at} (0600) and release frees it', async () => {
    const at = new Date('2030-01-01T00:00:00Z');
    const lock = await acquireHostLock(dir, 'job-1-aaaa', { ...alive([]), now: () => at, pid: 4242 });
    assert.deepEqual(await readHostLock(dir), { jobKey: 'job-1-aaaa', pid: 4242, at: at.toISOString() });
    assert.equal((await stat(join(dir, HOST_LOCK_FILE))).mode & 0o777, 0o600);
    await lock.release();
    assert.equal(await readHostLock(dir), undefined);
    assert.deepEqual(await readdir(dir), [], 'no temp files left');
  });

  test('a live holder refuses the next job with a system failure naming it and since when', async () => {
    await acquireHostLock(dir, 'job-1-aaaa', { ...alive([]), now: () => new Date('2030-01-01T00:00:00Z') });
    await assert.rejects(acquireHostLock(dir, 'job-2-bbbb', alive(['job-1-aaaa'])), (err: Error) => {
      assert.ok(err instanceof SystemFailure);
      assert.match(err.message, /job job-1-aaaa .* since 2030-01-01T00:00:00.000Z/);
      return true;
    });
    assert.equal((await readHostLock(dir))?.jobKey, 'job-1-aaaa');
  });

  test('concurrent acquirers: exactly one wins', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `job-${i}`);
    const results = await Promise.allSettled(keys.map((k) => acquireHostLock(dir, k, { isJobAlive: async () => true })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const holder = await readHostLock(dir);
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    assert.equal(holder?.jobKey, keys[winner]);
  });

  test('a lock whose job is dead is stale and taken over', async () => {
    await acquireHostLock(dir, 'job-crashed', alive([]));
    const lock = await acquireHostLock(dir, 'job-2-bbbb', alive([]));
    assert.equal((await readHostLock(dir))?.jobKey, 'job-2-bbbb');
    await lock.release();
    assert.deepEqual(await readdir(dir), []);
  });

  test('concurrent takeover of a stale lock: exactly one wins, the rest see a live holder', async () => {
    await acquireHostLock(dir, 'job-crashed', alive([]));
    const keys = Array.from({ length: 8 }, (_, i) => `job-${i}`);
    const results = await Promise.allSettled(keys.map((k) => acquireHostLock(dir, k, { isJobAlive: async (held) => held !== 'job-crashed' })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof SystemFailure);
    assert.equal((await readHostLock(dir))?.jobKey, keys[results.findIndex((r) => r.status === 'fulfilled')]);
    assert.deepEqual((await readdir(dir)).sort(), [HOST_LOCK_FILE]);
  });

  test('a damaged lock file is taken over; re-acquiring our own lock is fine', async () => {
    await writeFile(join(dir, HOST_LOCK_FILE), 'garbage', { mode: 0o600 });
    assert.equal((await readHostLock(dir))?.jobKey, '?');
    await acquireHostLock(dir, 'job-3', alive(['?']));
    await acquireHostLock(dir, 'job-3', alive(['job-3']));
    assert.equal((await readHostLock(dir))?.jobKey, 'job-3');
  });

  test('release only removes the lock if we still hold it (cleanup in another process uses releaseHostLock)', async () => {
    const first = await acquireHostLock(dir, 'job-old', alive([]));
    await acquireHostLock(dir, 'job-new', alive([])); // took over: job-old was judged dead
    await first.release();
    assert.equal((await readHostLock(dir))?.jobKey, 'job-new');
    assert.equal(await releaseHostLock(dir, 'job-old'), false);
    assert.equal(await releaseHostLock(dir, 'job-new'), true);
    assert.equal(await readHostLock(dir), undefined);
    assert.equal(await releaseHostLock(dir, 'job-new'), false);
  });
});
