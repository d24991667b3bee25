// Tests the credentials endpoint over real HTTP: protocol answers, refusals without secrets, refresh, deadline.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCredentialServer, type CredentialServerOptions } from '../../src/broker/server.js';
import type { IssuedSession } from '../../src/core/credential-types.js';
import { fakeSession, fakeSource } from './fixtures/fake-source.js';
import { get } from './fixtures/http-get.js';
import { Agent } from 'node:http';

const TOKEN = 'job-token-0123456789abcdef0123456789abcdef';
const HOUR = 3600_000;

function secretsIn(body: string, s: IssuedSession): string[] {
  const c = s.credentials;
  return [TOKEN, c.accessKeyId, c.secretAccessKey, c.sessionToken].filter((x) => body.includes(x));
}

async function withServer(
  over: Partial<CredentialServerOptions>,
  fn: (port: number, initial: IssuedSession, events: Array<{ type: string; detail: string }>) => Promise<void>,
): Promise<void> {
  const initial = over.initial ?? fakeSession(1, HOUR);
  const events: Array<{ type: string; detail: string }> = [];
  const server = await startCredentialServer({
    token: TOKEN,
    allowedUids: undefined,
    source: fakeSource(HOUR).source,
    initial,
    refreshBeforeSeconds: 900,
    deadline: new Date(Date.now() + HOUR),
    onEvent: (e) => events.push(e),
    ...over,
  });
  try {
    assert.equal(server.url, `http://127.0.0.1:${server.port}/creds`);
    await fn(server.port, initial, events);
  } finally {
    await server.close();
  }
}

describe('credentials server', () => {
  test('answers the job token with the container-credentials JSON', async () => {
    await withServer({}, async (port, initial) => {
      const r = await get(port, { token: TOKEN });
      assert.equal(r.status, 200);
      const body = JSON.parse(r.body) as Record<string, string>;
      assert.equal(body.AccessKeyId, initial.credentials.accessKeyId);
      assert.equal(body.SecretAccessKey, initial.credentials.secretAccessKey);
      assert.equal(body.Token, initial.credentials.sessionToken);
      assert.match(body.Expiration!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(new Date(body.Expiration!).getTime(), Math.floor(initial.credentials.expiration.getTime() / 1000) * 1000);
      const viaLocalhost = await get(port, { token: TOKEN, host: `localhost:${port}` });
      assert.equal(viaLocalhost.status, 200);
    });
  });

  test('refuses a missing or wrong token, a foreign Host, other paths — and never shows a secret', async () => {
    await withServer({}, async (port, initial, events) => {
      const cases = [
        { opts: {}, status: 401 },
        { opts: { token: 'wrong' }, status: 403 },
        { opts: { token: TOKEN.slice(0, -1) }, status: 403 },
        { opts: { token: TOKEN.toUpperCase() }, status: 403 },
        { opts: { token: `Bearer ${TOKEN}` }, status: 403 },
        { opts: { token: TOKEN, host: 'evil.example' }, status: 403 },
        { opts: { token: TOKEN, host: `evil.example:${port}` }, status: 403 },
        { opts: { token: TOKEN, host: '127.0.0.1' }, status: 403 },
        { opts: { token: TOKEN, path: '/other' }, status: 404 },
        { opts: { token: TOKEN, method: 'POST' }, status: 405 },
      ];
      for (const c of cases) {
        const r = await get(port, c.opts);
        assert.equal(r.status, c.status, JSON.stringify(c.opts));
        assert.deepEqual(secretsIn(r.body, initial), [], `secret in body for ${JSON.stringify(c.opts)}`);
        const err = JSON.parse(r.body) as { Code?: string; Message?: string };
        assert.equal(typeof err.Code, 'string');
      }
      assert.equal(events.filter((e) => e.type === 'deny').length, cases.length);
      assert.deepEqual(
        events.flatMap((e) => secretsIn(e.detail, initial)),
        [],
        'no secret in an event',
      );
    });
  });

  test('checks the connecting uid at accept, once per connection, and resets a foreign one unanswered', async () => {
    const seen: number[] = [];
    const resolver = async (remotePort: number, localPort: number): Promise<number> => {
      seen.push(remotePort);
      assert.ok(localPort > 0);
      return 4242;
    };
    await withServer({ allowedUids: [1000], resolvePeerUid: resolver }, async (port, _initial, events) => {
      await assert.rejects(get(port, { token: TOKEN }), { code: 'ECONNRESET' });
      assert.deepEqual(
        events.map((e) => e.type),
        ['deny'],
      );
      assert.match(events[0]!.detail, /^uid 4242 not allowed; connection from port \d+ reset$/);
    });
    await withServer({ allowedUids: [1000, 4242], resolvePeerUid: resolver }, async (port) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await get(port, { token: TOKEN, agent })).status, 200);
      } finally {
        agent.destroy();
      }
    });
    await withServer({ allowedUids: [4242], resolvePeerUid: async () => undefined }, async (port) => {
      await assert.rejects(get(port, { token: TOKEN }), { code: 'ECONNRESET' }, 'unknown uid fails closed');
    });
    assert.equal(seen.length, 2, 'one lookup per connection, not per request');
  });

  test('with the real /proc resolver, this process is allowed by its own uid and reset otherwise', async () => {
    const me = process.getuid!();
    await withServer({ allowedUids: [me] }, async (port) => {
      assert.equal((await get(port, { token: TOKEN })).status, 200);
    });
    await withServer({ allowedUids: [me + 1] }, async (port) => {
      await assert.rejects(get(port, { token: TOKEN }), { code: 'ECONNRESET' });
    });
  });

  test('refreshes before expiry, serves the new session and reports it through onIssue', async () => {
    const src = fakeSource(1600);
    const issued: IssuedSession[] = [];
    const initial = fakeSession(1, 1600);
    await withServer({ initial, source: src.source, refreshBeforeSeconds: 1, onIssue: (s) => issued.push(s) }, async (port, _i, events) => {
      assert.equal((JSON.parse((await get(port, { token: TOKEN })).body) as Record<string, string>).AccessKeyId, initial.credentials.accessKeyId);
      // refresh at max(expiry - 1 s, half the lifetime) = 0.8 s
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(issued.length, 1);
      const body = JSON.parse((await get(port, { token: TOKEN })).body) as Record<string, string>;
      assert.equal(body.AccessKeyId, issued[0]!.credentials.accessKeyId);
      assert.equal(body.Token, issued[0]!.credentials.sessionToken);
      assert.ok(events.some((e) => e.type === 'refresh'));
    });
  });

  test('keeps serving the valid session while refreshes fail, retrying with backoff', async () => {
    const src = fakeSource(HOUR, 3);
    const initial = fakeSession(1, 2000);
    const issued: IssuedSession[] = [];
    await withServer(
      { initial, source: src.source, refreshBeforeSeconds: 1900, retry: { initialMs: 40, maxMs: 200 }, onIssue: (s) => issued.push(s) },
      async (port, _i, events) => {
        await new Promise((r) => setTimeout(r, 1150)); // first attempt at 1 s, then 3 failures
        const mid = JSON.parse((await get(port, { token: TOKEN })).body) as Record<string, string>;
        assert.ok(mid.AccessKeyId === initial.credentials.accessKeyId || mid.AccessKeyId === issued[0]?.credentials.accessKeyId);
        await new Promise((r) => setTimeout(r, 600));
        assert.equal(src.calls(), 4);
        assert.equal(events.filter((e) => e.type === 'refresh-failed').length, 3);
        assert.equal(issued.length, 1);
        assert.equal((JSON.parse((await get(port, { token: TOKEN })).body) as Record<string, string>).AccessKeyId, issued[0]!.credentials.accessKeyId);
      },
    );
  });

  test('does not serve expired credentials', async () => {
    const initial = fakeSession(1, -1000);
    const src = fakeSource(HOUR, 1000);
    await withServer({ initial, source: src.source, retry: { initialMs: 60_000, maxMs: 60_000 } }, async (port) => {
      const r = await get(port, { token: TOKEN });
      assert.equal(r.status, 503);
      assert.deepEqual(secretsIn(r.body, initial), []);
    });
  });

  test('stops serving at the deadline', async () => {
    const events: string[] = [];
    const server = await startCredentialServer({
      token: TOKEN,
      allowedUids: undefined,
      source: fakeSource(HOUR).source,
      initial: fakeSession(1, HOUR),
      refreshBeforeSeconds: 900,
      deadline: new Date(Date.now() + 300),
      onEvent: (e) => events.push(e.type),
    });
    assert.equal((await get(server.port, { token: TOKEN })).status, 200);
    assert.equal(await server.done, 'deadline');
    assert.ok(events.includes('deadline'));
    await assert.rejects(get(server.port, { token: TOKEN }), /ECONNREFUSED/);
    await server.close();
  });
});
