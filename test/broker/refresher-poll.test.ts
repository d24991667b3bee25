// Tests the refresher's poll mode (sources that rotate by themselves, like IMDS) and the handshake's pollMs.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRefresher } from '../../src/broker/refresher.js';
import { parseHandshake } from '../../src/broker/handshake.js';
import type { IssuedSession } from '../../src/core/credential-types.js';
import { fakeSession } from './fixtures/fake-source.js';

const HOUR = 3600_000;

describe('refresher with pollMs', () => {
  test('asks the source every pollMs; the same key is not a new session, a rotated one is issued once', async () => {
    const initial = fakeSession(1, 6 * HOUR);
    const rotated = fakeSession(2, 6 * HOUR);
    let calls = 0;
    const source = async (): Promise<IssuedSession> => {
      calls++;
      return calls < 3 ? { ...initial } : rotated;
    };
    const issued: IssuedSession[] = [];
    const events: string[] = [];
    const r = startRefresher({
      source,
      initial,
      refreshBeforeSeconds: 900,
      pollMs: 60,
      now: Date.now,
      retry: { initialMs: 10, maxMs: 100 },
      onIssue: (s) => issued.push(s),
      onEvent: (type) => events.push(type),
    });
    try {
      await new Promise((res) => setTimeout(res, 400));
      assert.ok(calls >= 4, `polled only ${calls} times in 400 ms at 60 ms`);
      assert.deepEqual(
        issued.map((s) => s.credentials.accessKeyId),
        [rotated.credentials.accessKeyId],
        'the unchanged key was issued again, or the rotated one not once',
      );
      assert.deepEqual(events, ['refresh']);
      assert.equal(r.current().credentials.accessKeyId, rotated.credentials.accessKeyId);
    } finally {
      r.stop();
    }
  });

  test('without pollMs a six-hour session is not asked again for hours', async () => {
    let calls = 0;
    const initial = fakeSession(1, 6 * HOUR);
    const r = startRefresher({
      source: async () => (calls++, fakeSession(2, 6 * HOUR)),
      initial,
      refreshBeforeSeconds: 900,
      now: Date.now,
      retry: { initialMs: 10, maxMs: 100 },
      onIssue: () => undefined,
      onEvent: () => undefined,
    });
    await new Promise((res) => setTimeout(res, 200));
    r.stop();
    assert.equal(calls, 0);
  });

  test('the handshake carries pollMs and refuses a nonsensical one', () => {
    const base = {
      token: 't',
      deadline: new Date(Date.now() + HOUR).toISOString(),
      refreshBeforeSeconds: 900,
      feedSocketPath: '/x.sock',
      sourceSpec: {},
      initial: {
        accessKeyId: 'A',
        secretAccessKey: 'S',
        sessionToken: 'T',
        expiration: new Date(Date.now() + HOUR).toISOString(),
        roleArn: 'r',
        sessionName: 'n',
      },
    };
    assert.equal(parseHandshake(JSON.stringify({ ...base, pollMs: 60_000 })).pollMs, 60_000);
    assert.equal(parseHandshake(JSON.stringify(base)).pollMs, undefined);
    assert.throws(() => parseHandshake(JSON.stringify({ ...base, pollMs: 5 })), /pollMs must be a number >= 100/);
    assert.throws(() => parseHandshake(JSON.stringify({ ...base, pollMs: '60' })), /pollMs/);
  });
});
