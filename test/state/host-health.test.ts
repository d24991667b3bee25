// The host health marker: round trip, first `since` kept, unreadable = unhealthy, refusal names the restore command.

import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { RestoreFailed } from '../../src/credentials/instance-profile-restore.js';
import { clearUnhealthy, HEALTH_FILE, markUnhealthy, readHealth, refuseIfUnhealthy } from '../../src/state/host-health.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobrole-host-health-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('host health', () => {
  test('round trip: healthy → unhealthy (0600) → healthy', async () => {
    assert.deepEqual(await readHealth(dir), { healthy: true });
    await refuseIfUnhealthy(dir);
    await markUnhealthy(dir, 'restore of i-1 failed: credentials expired', () => new Date('2030-01-01T00:00:00Z'));
    assert.deepEqual(await readHealth(dir), { healthy: false, reason: 'restore of i-1 failed: credentials expired', since: '2030-01-01T00:00:00.000Z' });
    assert.equal((await stat(join(dir, HEALTH_FILE))).mode & 0o777, 0o600);
    await clearUnhealthy(dir);
    assert.deepEqual(await readHealth(dir), { healthy: true });
    await clearUnhealthy(dir); // idempotent
    assert.deepEqual(await readdir(dir), []);
  });

  test('marking again keeps the first since and records the newest reason', async () => {
    await markUnhealthy(dir, 'first', () => new Date('2030-01-01T00:00:00Z'));
    await markUnhealthy(dir, 'second', () => new Date('2030-01-02T00:00:00Z'));
    assert.deepEqual(await readHealth(dir), { healthy: false, reason: 'second', since: '2030-01-01T00:00:00.000Z' });
  });

  test('while unhealthy every job is refused with a system failure naming `jobrole gc --restore`', async () => {
    await markUnhealthy(dir, 'restore of i-1 failed');
    await assert.rejects(refuseIfUnhealthy(dir), (err: Error) => {
      assert.ok(err instanceof SystemFailure);
      assert.match(err.message, /restore of i-1 failed/);
      assert.match(err.message, /jobrole gc --restore/);
      return true;
    });
  });

  test('the refusal says each sentence once, whether or not the reason already names the restore command', async () => {
    const sentences = (m: string) =>
      m
        .split(/(?<=\.) /)
        .map((s) => s.trim())
        .filter((s) => s !== '');
    for (const reason of [new RestoreFailed('i-0abc', 'credentials-expired', 'the driver credentials expired').message, 'restore of i-1 failed.']) {
      await markUnhealthy(dir, reason, () => new Date('2030-01-01T00:00:00Z'));
      const err = await refuseIfUnhealthy(dir).then(
        () => assert.fail('expected a refusal'),
        (e: Error) => e,
      );
      const all = sentences(err.message);
      assert.equal(new Set(all).size, all.length, `a sentence repeats: ${err.message}`);
      assert.equal(err.message.split('jobrole gc --restore').length - 1, 1, `the restore command once: ${err.message}`);
      assert.doesNotMatch(err.message, /\.\./);
      assert.match(err.message, /\.$/);
    }
  });

  test('an unreadable marker counts as unhealthy (fail closed)', async () => {
    await writeFile(join(dir, HEALTH_FILE), '{oops');
    const h = await readHealth(dir);
    assert.equal(h.healthy, false);
  });
});
