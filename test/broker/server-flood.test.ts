// Tests the endpoint's connection gate over real sockets: foreign floods are shed, caps and idle drops hold.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { startCredentialServer, type CredentialServerOptions } from '../../src/broker/server.js';
import { fakeSession, fakeSource } from './fixtures/fake-source.js';
import { get } from './fixtures/http-get.js';

const TOKEN = 'job-token-0123456789abcdef0123456789abcdef';
const HOUR = 3600_000;
const JOB_UID = 2001;
const OTHER_UID = 2002;
/** The job's clients connect from 127.0.0.2, everything else from 127.0.0.1: the fake resolver tells them apart. */
const JOB_ADDRESS = '127.0.0.2';
const byAddress = async (_rp: number, _lp: number, a?: { remote: string }): Promise<number> => (a?.remote === JOB_ADDRESS ? JOB_UID : OTHER_UID);

async function withServer(
  over: Partial<CredentialServerOptions>,
  fn: (port: number, events: Array<{ type: string; detail: string }>) => Promise<void>,
): Promise<void> {
  const events: Array<{ type: string; detail: string }> = [];
  const server = await startCredentialServer({
    token: TOKEN,
    allowedUids: [JOB_UID],
    source: fakeSource(HOUR).source,
    initial: fakeSession(1, HOUR),
    refreshBeforeSeconds: 900,
    deadline: new Date(Date.now() + HOUR),
    resolvePeerUid: byAddress,
    onEvent: (e) => events.push(e),
    ...over,
  });
  try {
    await fn(server.port, events);
  } finally {
    await server.close();
  }
}

function connect(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port, ...(localAddress !== undefined ? { localAddress } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves how the server ended the connection: 'reset', 'closed' (FIN) — or 'open' after waitMs. */
function ending(s: Socket, waitMs: number): Promise<'reset' | 'closed' | 'open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), waitMs);
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ECONNRESET' ? 'reset' : 'closed');
    });
    s.once('end', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.resume();
  });
}

/** Connects and reports how the server ended it (or 'open' after waitMs); a reset may come before 'connect'. */
function attempt(port: number, localAddress: string | undefined, waitMs: number): { socket: Socket; result: Promise<'reset' | 'closed' | 'open'> } {
  const socket = createConnection({ host: '127.0.0.1', port, ...(localAddress !== undefined ? { localAddress } : {}) });
  return { socket, result: ending(socket, waitMs) };
}

describe('credentials endpoint under a connection flood', () => {
  test("2,000 idle connections from another uid, reopened as soon as reset, never stop the job's requests", async () => {
    await withServer({}, async (port, events) => {
      let opened = 0;
      let bytesToFlooder = 0;
      let flooding = true;
      const live = new Set<Socket>();
      const open = (): void => {
        if (!flooding) return;
        const s = createConnection({ host: '127.0.0.1', port });
        live.add(s);
        s.on('connect', () => opened++);
        s.on('data', (d: Buffer) => (bytesToFlooder += d.length));
        s.on('error', () => undefined);
        s.on('close', () => {
          live.delete(s);
          setImmediate(open); // an attacker reconnects at once
        });
      };
      for (let i = 0; i < 2000; i++) open();
      try {
        await delay(200);
        const statuses: number[] = [];
        const each: number[] = [];
        for (let i = 0; i < 30; i++) {
          const t = Date.now();
          statuses.push((await get(port, { token: TOKEN, localAddress: JOB_ADDRESS })).status);
          each.push(Date.now() - t);
        }
        assert.deepEqual(statuses, Array(30).fill(200), "every one of the job's requests was answered");
        assert.ok(opened >= 2000, `the flood was on: ${opened} connects`);
        // Flooder, endpoint and client share this one thread here, so latency is loose; the e2e test runs them apart.
        assert.ok(Math.max(...each) < 10_000, `a request took ${Math.max(...each)} ms under the flood`);
      } finally {
        flooding = false;
        for (const s of live) s.destroy();
      }
      assert.equal(bytesToFlooder, 0, 'a foreign connection was answered');
      assert.ok(events.filter((e) => e.type === 'deny' && e.detail.startsWith(`uid ${OTHER_UID} not allowed`)).length >= 2000);
      assert.equal(events.filter((e) => e.type === 'serve').length, 30);
    });
  });

  test('a connection is reset unread while its uid lookup waits, and unchecked ones beyond maxPending are reset at once', async () => {
    const waiting: Array<() => void> = [];
    const slow = (_rp: number, _lp: number, a?: { remote: string }): Promise<number> =>
      new Promise((resolve) => waiting.push(() => resolve(a?.remote === JOB_ADDRESS ? JOB_UID : OTHER_UID)));
    await withServer({ resolvePeerUid: slow, limits: { maxPending: 3 } }, async (port, events) => {
      const held = await Promise.all([connect(port), connect(port), connect(port, JOB_ADDRESS)]);
      held[0].write(`GET /creds HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${TOKEN}\r\n\r\n`);
      while (waiting.length < 3) await delay(5);
      assert.equal(await attempt(port, JOB_ADDRESS, 2000).result, 'reset', 'a fourth unchecked connection must be reset');
      assert.match(events.at(-1)!.detail, /^3 connections already wait for their uid check/);
      const endings = held.map((s) => ending(s, 1000));
      for (const release of waiting) release();
      assert.deepEqual(await Promise.all(endings), ['reset', 'reset', 'open']);
      assert.ok(!events.some((e) => e.type === 'serve' || /token|host/.test(e.detail)), 'the foreign request was read');
      for (const s of held) s.destroy();
    });
  });

  test('each uid has its own cap of admitted connections', async () => {
    const THIRD = 2003;
    const three = async (_rp: number, _lp: number, a?: { remote: string }): Promise<number> =>
      a?.remote === JOB_ADDRESS ? JOB_UID : a?.remote === '127.0.0.3' ? THIRD : OTHER_UID;
    await withServer(
      { allowedUids: [JOB_UID, THIRD], resolvePeerUid: three, limits: { maxPerUid: 2, firstRequestMs: 60_000 }, idleMs: 60_000 },
      async (port, events) => {
        const third = [await connect(port, '127.0.0.3'), await connect(port, '127.0.0.3')];
        await delay(50);
        assert.equal(await attempt(port, '127.0.0.3', 2000).result, 'reset');
        assert.match(events.at(-1)!.detail, /^uid 2003: already 2 connections open/);
        assert.equal((await get(port, { token: TOKEN, localAddress: JOB_ADDRESS })).status, 200, "the job's uid still has room");
        third[0]!.destroy();
        await delay(50);
        const again = attempt(port, '127.0.0.3', 300);
        assert.equal(await again.result, 'open', 'a freed place is reused');
        for (const s of [...third, again.socket]) s.destroy();
      },
    );
  });

  test('an admitted connection that sends no complete request, or idles after one, is dropped', async () => {
    await withServer({ limits: { firstRequestMs: 300 }, idleMs: 400 }, async (port, events) => {
      const silent = await connect(port, JOB_ADDRESS);
      const partial = await connect(port, JOB_ADDRESS);
      partial.write('GET /creds HTTP/1.1\r\nHost: 127');
      const t0 = Date.now();
      const [a, b] = await Promise.all([ending(silent, 3000), ending(partial, 3000)]);
      assert.notEqual(a, 'open');
      assert.notEqual(b, 'open');
      assert.ok(Date.now() - t0 < 2000);
      assert.ok(events.some((e) => /no complete request within 300 ms/.test(e.detail)));

      const kept = await connect(port, JOB_ADDRESS);
      kept.write(`GET /creds HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${TOKEN}\r\n\r\n`);
      let reply = '';
      kept.on('data', (d: Buffer) => (reply += d.toString()));
      const t1 = Date.now();
      assert.notEqual(await ending(kept, 3000), 'open', 'an idle keep-alive connection must be closed');
      assert.match(reply, /^HTTP\/1\.1 200/);
      assert.ok(Date.now() - t1 >= 300 && Date.now() - t1 < 2500, `closed after ${Date.now() - t1} ms`);
    });
  });
});
