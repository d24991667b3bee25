// The discovery key source under load: one fetch for concurrent callers, and no refetch right after a failure.

import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwksFromDiscovery } from '../../src/identity/jwks-discovery.js';
import type { FetchLike } from '../../src/identity/discovery.js';
import { SystemFailure } from '../../src/core/exit-codes.js';

const ISSUER = 'https://gitlab.example.com';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const jwks = (kid: string) => ({ keys: [{ kty: 'RSA', kid, use: 'sig', alg: 'RS256', n: 'AQAB', e: 'AQAB' }] });

/** A fake GitLab: counts discovery fetches; while `down` it answers 503; `hold` keeps answers pending until released. */
function fakeGitlab() {
  const state = { discoveries: 0, down: false, kid: 'k1', held: [] as (() => void)[], hold: false };
  const fetch: FetchLike = async (url) => {
    if (url.endsWith('/.well-known/openid-configuration')) {
      state.discoveries += 1;
      if (state.hold) await new Promise<void>((r) => state.held.push(r));
      if (state.down) return new Response('down', { status: 503 });
      return Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}/oauth/discovery/keys` });
    }
    return Response.json(jwks(state.kid));
  };
  const release = () => {
    state.hold = false;
    for (const r of state.held.splice(0)) r();
  };
  return { state, fetch, release };
}

let dir: string;
let clock: number;
let warnings: string[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobrole-jwks-'));
  clock = T0;
  warnings = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function source(fetch: FetchLike) {
  return jwksFromDiscovery({
    issuer: ISSUER,
    cachePath: join(dir, 'cache', 'jwks.json'),
    ttlSeconds: 3600,
    fetch,
    now: () => new Date(clock),
    minRefetchSeconds: 30,
    warn: (m) => warnings.push(m),
  });
}

const kids = (set: { keys: { kid?: string }[] }) => set.keys.map((k) => k.kid).join(',');

test('concurrent callers with no cache share one fetch and all get the keys', async () => {
  const gl = fakeGitlab();
  gl.state.hold = true;
  const keys = source(gl.fetch);
  const calls = Array.from({ length: 20 }, () => keys.keys());
  await new Promise((r) => setTimeout(r, 20));
  gl.release();
  const sets = await Promise.all(calls);
  assert.equal(gl.state.discoveries, 1, 'one fetch, not one per caller');
  assert.deepEqual(new Set(sets.map(kids)), new Set(['k1']));
  assert.equal((await stat(join(dir, 'cache', 'jwks.json'))).mode & 0o777, 0o600);
});

test('at TTL expiry concurrent callers trigger one refetch, and later calls use the new keys without fetching', async () => {
  const gl = fakeGitlab();
  const keys = source(gl.fetch);
  await keys.keys();
  clock += 3601_000;
  gl.state.kid = 'k2';
  gl.state.hold = true;
  const calls = Array.from({ length: 20 }, () => keys.keys());
  await new Promise((r) => setTimeout(r, 20));
  gl.release();
  const sets = await Promise.all(calls);
  assert.equal(gl.state.discoveries, 2, 'the first load and one refetch');
  assert.deepEqual(new Set(sets.map(kids)), new Set(['k2']));
  assert.equal(kids(await keys.keys()), 'k2');
  assert.equal(gl.state.discoveries, 2);
});

test('after a failed refetch the cached keys are served without asking GitLab again until minRefetchSeconds passed', async () => {
  const gl = fakeGitlab();
  const keys = source(gl.fetch);
  await keys.keys();
  clock += 3601_000;
  gl.state.down = true;
  assert.equal(kids(await keys.keys()), 'k1', 'stale keys served');
  assert.equal(gl.state.discoveries, 2);
  for (let i = 0; i < 10; i++) {
    clock += 2_000;
    assert.equal(kids(await keys.keys()), 'k1');
  }
  assert.equal(gl.state.discoveries, 2, 'no refetch during the back-off');
  assert.equal(warnings.filter((w) => /Using the cached keys/.test(w)).length, 1, 'one warning per failed fetch, not per call');
  clock += 11_000; // 31 s after the failure
  gl.state.down = false;
  gl.state.kid = 'k2';
  assert.equal(kids(await keys.keys()), 'k2', 'fetched again once the back-off is over');
  assert.equal(gl.state.discoveries, 3);
});

test('concurrent callers while GitLab is down share one failed fetch and one warning', async () => {
  const gl = fakeGitlab();
  const keys = source(gl.fetch);
  await keys.keys();
  clock += 3601_000;
  gl.state.down = true;
  gl.state.hold = true;
  const calls = Array.from({ length: 10 }, () => keys.keys());
  await new Promise((r) => setTimeout(r, 20));
  gl.release();
  const sets = await Promise.all(calls);
  assert.deepEqual(new Set(sets.map(kids)), new Set(['k1']));
  assert.equal(gl.state.discoveries, 2);
  assert.equal(warnings.filter((w) => /Using the cached keys/.test(w)).length, 1);
});

test('GitLab down and no cache: calls within the back-off fail with the same error without a new fetch', async () => {
  const gl = fakeGitlab();
  gl.state.down = true;
  const keys = source(gl.fetch);
  await assert.rejects(keys.keys(), (e: unknown) => e instanceof SystemFailure && /HTTP 503/.test(e.message));
  clock += 5_000;
  await assert.rejects(keys.keys(), (e: unknown) => e instanceof SystemFailure && /HTTP 503/.test(e.message));
  assert.equal(gl.state.discoveries, 1);
  clock += 30_000;
  gl.state.down = false;
  assert.equal(kids(await keys.keys()), 'k1');
  assert.equal(gl.state.discoveries, 2);
});
