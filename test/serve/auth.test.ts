// Unit tests of the broker's authentication: header forms, 401 vs 503, verification memoised by hash until exp.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticator, tokenFromHeader } from '../../src/serve/auth.js';
import { BuildFailure, SystemFailure } from '../../src/core/exit-codes.js';
import type { VerifiedIdToken } from '../../src/identity/claims.js';

const verified = (raw: string, exp: number): VerifiedIdToken => ({
  raw,
  claims: { iss: 'https://gitlab.test', sub: 's', aud: 'a', exp, project_path: 'group/app', job_id: '1', project_id: '2' },
});

test('tokenFromHeader: bare token, Bearer, absent, blank', () => {
  assert.equal(tokenFromHeader('abc.def.ghi'), 'abc.def.ghi');
  assert.equal(tokenFromHeader('Bearer abc.def.ghi'), 'abc.def.ghi');
  assert.equal(tokenFromHeader('bearer   abc.def.ghi  '), 'abc.def.ghi');
  assert.equal(tokenFromHeader(undefined), undefined);
  assert.equal(tokenFromHeader('   '), undefined);
  assert.equal(tokenFromHeader(['a', 'b']), undefined);
});

test('a token the verifier rejects is a 401; keys that cannot be had are a 503', async () => {
  const reject = authenticator({
    verify: async () => {
      throw new BuildFailure("The job's ID token was rejected: it expired.");
    },
    clockSkewSeconds: 0,
  });
  const r = await reject.authenticate('x.y.z');
  assert.deepEqual(r, { ok: false, status: 401, code: 'InvalidToken', message: 'The ID token was rejected: it expired.' });
  const down = authenticator({
    verify: async () => {
      throw new SystemFailure("Cannot fetch GitLab's JWKS");
    },
    clockSkewSeconds: 0,
  });
  const d = await down.authenticate('x.y.z');
  assert.equal(d.ok, false);
  assert.equal(!d.ok && d.status, 503);
  const none = await down.authenticate(undefined);
  assert.equal(!none.ok && none.status, 401);
  const huge = await down.authenticate('a'.repeat(20_000));
  assert.equal(!huge.ok && huge.status, 401);
});

test('a verified token is remembered until its exp (plus skew), then verified again', async () => {
  let t = 1_000_000_000_000;
  let calls = 0;
  const exp = Math.floor(t / 1000) + 60;
  const auth = authenticator({
    verify: async (raw) => {
      calls++;
      return verified(raw, exp);
    },
    clockSkewSeconds: 5,
    now: () => t,
  });
  for (let i = 0; i < 10; i++) assert.equal((await auth.authenticate('Bearer a.b.c')).ok, true);
  assert.equal(calls, 1);
  assert.equal((await auth.authenticate('a.b.d')).ok, true);
  assert.equal(calls, 2, 'another token is verified on its own');
  t += 66_000;
  await auth.authenticate('a.b.c');
  assert.equal(calls, 3, 'past exp + skew the memo is dropped and the verifier decides again');
});
