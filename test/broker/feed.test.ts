// Tests the secret feed: 0600 socket, current secrets on connect, later ones as issued, no socket tolerated.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveSecretFeed, subscribeSecretFeed } from '../../src/broker/feed.js';

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('secret feed', () => {
  test('sends current secrets on connect, then new ones; socket is 0600 and removed on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobrole-feed-'));
    try {
      const path = join(dir, 'feed.sock');
      const feed = await serveSecretFeed(path);
      const st = await stat(path);
      assert.equal(st.isSocket(), true);
      assert.equal(st.mode & 0o777, 0o600);
      feed.publish('first-secret-value');
      feed.publish('second-secret-value');
      feed.publish('first-secret-value');
      const got: string[] = [];
      const sub = subscribeSecretFeed(path, (s) => got.push(s));
      await sub.ready;
      assert.deepEqual(got, ['first-secret-value', 'second-secret-value'], 'ready means caught up');
      feed.publish('issued "later"\nwith newline');
      await until(() => got.length === 3);
      assert.equal(got[2], 'issued "later"\nwith newline');
      sub.close();
      await feed.close();
      assert.equal(existsSync(path), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('subscribing where there is no feed does nothing and settles', async () => {
    const got: string[] = [];
    const sub = subscribeSecretFeed(join(tmpdir(), `jobrole-no-such-${process.pid}.sock`), (s) => got.push(s));
    await sub.ready;
    sub.close();
    assert.deepEqual(got, []);
  });

  test('replaces a stale socket, but not a live one or a regular file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobrole-feed-'));
    try {
      const path = join(dir, 'feed.sock');
      // a socket file nobody listens on, as a killed broker leaves it
      execFileSync('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
      assert.equal((await stat(path)).isSocket(), true);
      const feed = await serveSecretFeed(path);
      await assert.rejects(serveSecretFeed(path), /in use/);
      await feed.close();
      const file = join(dir, 'plain');
      await writeFile(file, 'keep me');
      await assert.rejects(serveSecretFeed(file), /not a socket/);
      assert.equal(await readFile(file, 'utf8'), 'keep me');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
