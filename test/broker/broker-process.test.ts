// Tests the broker as a real detached process: secrets only on stdin, feed + endpoint, stop by identity, deadline.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { subscribeSecretFeed } from '../../src/broker/feed.js';
import type { BrokerHandshake } from '../../src/broker/handshake.js';
import { readProcStat, stopBroker } from '../../src/core/process-identity.js';
import { spawnBroker } from '../../src/broker/spawn.js';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { fakeSession } from './fixtures/fake-source.js';
import { get } from './fixtures/http-get.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/broker-child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const TOKEN = 'broker-proc-token-9b8a7c6d5e4f30211203f4e5d6c7b8a9';
const started: Array<{ pid: number; startTime: string | undefined }> = [];
const dirs: string[] = [];

after(async () => {
  for (const b of started) await stopBroker(b, { graceMs: 500 }).catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function handshake(over: Partial<BrokerHandshake> & { lifetimeMs?: number } = {}): Promise<{ h: BrokerHandshake; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-broker-'));
  dirs.push(dir);
  const s = fakeSession(1, over.lifetimeMs ?? 3600_000);
  const h: BrokerHandshake = {
    token: TOKEN,
    allowedUids: [process.getuid!()],
    deadline: new Date(Date.now() + 3600_000).toISOString(),
    refreshBeforeSeconds: 900,
    initial: {
      accessKeyId: s.credentials.accessKeyId,
      secretAccessKey: s.credentials.secretAccessKey,
      sessionToken: s.credentials.sessionToken,
      expiration: s.credentials.expiration.toISOString(),
      roleArn: s.roleArn,
      sessionName: s.sessionName,
    },
    feedSocketPath: join(dir, 'feed.sock'),
    sourceSpec: { lifetimeMs: over.lifetimeMs ?? 3600_000, logFile: join(dir, 'broker.log') },
    ...over,
  };
  return { h, dir };
}

async function spawnFixture(h: BrokerHandshake, timeoutMs = 20_000) {
  const b = await spawnBroker({ command: process.execPath, args: ['--import', TSX, FIXTURE], handshake: h, timeoutMs });
  started.push(b);
  return b;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const gone = async (pid: number): Promise<boolean> => {
  const st = await readProcStat(pid);
  return st === undefined || st.state === 'Z';
};

describe('broker process', () => {
  test('serves the job, keeps secrets out of argv and environ, feeds secrets, and stops by identity', async () => {
    process.env.CUSTOM_ENV_JOBROLE_ID_TOKEN = 'eyJ-parent-env-secret-must-not-be-inherited';
    const { h } = await handshake({ lifetimeMs: 2000, refreshBeforeSeconds: 1 });
    const b = await spawnFixture(h);
    delete process.env.CUSTOM_ENV_JOBROLE_ID_TOKEN;
    assert.ok(b.pid > 0 && b.port > 0);
    assert.equal(typeof b.startTime, 'string');

    const cmdline = await readFile(`/proc/${b.pid}/cmdline`, 'utf8');
    const environ = await readFile(`/proc/${b.pid}/environ`, 'utf8');
    for (const secret of [TOKEN, h.initial.accessKeyId, h.initial.secretAccessKey, h.initial.sessionToken, 'eyJ-parent-env']) {
      assert.equal(cmdline.includes(secret), false, 'secret in cmdline');
      assert.equal(environ.includes(secret), false, 'secret in environ');
    }
    assert.ok(cmdline.startsWith('jobrole-broker'), `title: ${JSON.stringify(cmdline)}`);
    const stat = await readFile(`/proc/${b.pid}/stat`, 'utf8');
    const [pgrp, session] = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .slice(2, 4)
      .map(Number);
    assert.equal(pgrp, b.pid, 'own process group');
    assert.equal(session, b.pid, 'own session');

    const r = await get(b.port, { token: TOKEN });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { AccessKeyId: string }).AccessKeyId, h.initial.accessKeyId);
    assert.equal((await get(b.port, { token: 'nope' })).status, 403);

    const fed: string[] = [];
    const sub = subscribeSecretFeed(h.feedSocketPath, (s) => fed.push(s));
    await sub.ready;
    assert.deepEqual(fed.slice(0, 4), [TOKEN, h.initial.accessKeyId, h.initial.secretAccessKey, h.initial.sessionToken]);
    // the 2 s session is refreshed after 1 s: its secrets arrive on the feed and are served
    await until(() => fed.length >= 7);
    const served = JSON.parse((await get(b.port, { token: TOKEN })).body) as { AccessKeyId: string; Token: string };
    assert.ok(fed.includes(served.AccessKeyId) && fed.includes(served.Token));
    sub.close();

    assert.equal(await stopBroker({ pid: b.pid, startTime: '1' }, { graceMs: 200 }), 'not-running', 'wrong start time: not ours');
    assert.equal(await gone(b.pid), false, 'still alive after the refused stop');
    assert.equal(await stopBroker(b, { graceMs: 3000 }), 'stopped');
    assert.equal(await gone(b.pid), true);
    await assert.rejects(get(b.port, { token: TOKEN }), /ECONNREFUSED/);
    assert.equal(existsSync(h.feedSocketPath), false, 'feed socket removed');
    assert.equal(await stopBroker(b, { graceMs: 100 }), 'not-running');

    const log = await readFile(String((h.sourceSpec as { logFile: string }).logFile), 'utf8');
    assert.match(log, /serve: /);
    assert.match(log, /stopping: SIGTERM/);
    for (const secret of fed) assert.equal(log.includes(secret), false, 'secret in broker log');
  });

  test('exits by itself at the deadline and removes its socket', async () => {
    const { h } = await handshake({ deadline: new Date(Date.now() + 4000).toISOString() });
    const b = await spawnFixture(h);
    assert.equal((await get(b.port, { token: TOKEN })).status, 200);
    await until(() => gone(b.pid), 8000);
    assert.equal(existsSync(h.feedSocketPath), false);
    // The typed event the endpoint's audit turns into a refresh record with outcome "deadline" (stages/broker.ts).
    const log = await readFile(String((h.sourceSpec as { logFile: string }).logFile), 'utf8');
    const events = log
      .split('\n')
      .filter((l) => l.startsWith('typed-event '))
      .map((l) => JSON.parse(l.slice(12)) as { type: string; detail: string });
    assert.ok(
      events.some((e) => e.type === 'serve' && typeof e.detail === 'string'),
      log,
    );
    assert.ok(
      events.some((e) => e.type === 'deadline' && typeof e.detail === 'string'),
      log,
    );
  });

  test('a bad handshake is a system failure naming the field, and leaves no process', async () => {
    const { h } = await handshake({ deadline: new Date(Date.now() - 1000).toISOString() });
    await assert.rejects(spawnFixture(h), (err: unknown) => err instanceof SystemFailure && /deadline/.test(err.message) && !err.message.includes(TOKEN));
  });

  test('a broker that never answers is killed after the timeout', async () => {
    const { dir } = await handshake();
    const pidFile = join(dir, 'pid');
    const { h } = await handshake();
    const silent = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`;
    await assert.rejects(
      spawnBroker({ command: process.execPath, args: ['-e', silent], handshake: h, timeoutMs: 1500 }),
      (err: unknown) => err instanceof SystemFailure && /did not answer/.test(err.message),
    );
    const pid = Number(await readFile(pidFile, 'utf8'));
    await until(() => gone(pid), 3000);
  });
});
