// Verifying GitLab ID tokens against a local OIDC issuer: what is accepted, what is refused and why, and no leaks.

import { test, describe, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, SignJWT, base64url } from 'jose';
import { verifyIdToken } from '../../src/identity/verify.js';
import { jwksFromDiscovery, type DiscoveryOptions } from '../../src/identity/jwks-discovery.js';
import { jwksFromFile } from '../../src/identity/jwks-file.js';
import { BuildFailure, SystemFailure } from '../../src/core/exit-codes.js';
import { gitlabClaims, mint, newKey, NOW, NOW_S, startIssuer, type FakeIssuer, type SigningKey } from './oidc-fixture.js';

const AUD = 'https://gitlab.example.com';
let key: SigningKey;
let foreign: SigningKey;
let gl: FakeIssuer;
let dir: string;
let cachePath: string;

function source(over: Partial<DiscoveryOptions> = {}) {
  return jwksFromDiscovery({ issuer: gl.url, cachePath, ttlSeconds: 3600, now: () => NOW, ...over });
}

function verify(token: string, keys = source(), now = NOW) {
  return verifyIdToken(token, { issuer: gl.url, audience: AUD, keys, clockSkewSeconds: 30, now: () => now });
}

/** Asserts a refusal of the given kind whose message matches, and that the message never carries the token. */
async function refused(p: Promise<unknown>, token: string, kind: typeof BuildFailure | typeof SystemFailure, pattern: RegExp): Promise<Error> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => {
      caught = e;
    },
  );
  assert.ok(caught instanceof kind, `expected ${kind.name}, got ${String(caught)}`);
  const msg = (caught as Error).message;
  assert.match(msg, pattern);
  const [h, pl, sig] = token.split('.');
  for (const part of [token, pl, sig]) if (part !== undefined && part.length > 8) assert.ok(!msg.includes(part), `message leaks the token: ${msg}`);
  assert.ok(h === undefined || h.length < 8 || !msg.includes(h));
  return caught;
}

before(async () => {
  key = await newKey('gitlab-key-1');
  foreign = await newKey('other-gitlab-key');
});

beforeEach(async () => {
  gl = await startIssuer([key]);
  dir = await mkdtemp(join(tmpdir(), 'jobrole-idtok-'));
  cachePath = join(dir, 'jwks', 'cache.json');
});

async function cleanup() {
  await gl.close();
  await rm(dir, { recursive: true, force: true });
}

describe('verifyIdToken', () => {
  test('a valid GitLab token yields its claims, with flags as booleans', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, AUD));
    const { claims, raw } = await verify(token);
    assert.equal(raw, token);
    assert.equal(claims.project_path, 'group/app');
    assert.equal(claims.sub, 'project_path:group/app:ref_type:branch:ref:main');
    assert.equal(claims.ref_protected, true);
    assert.equal(claims.environment_protected, false);
    assert.equal(claims.project_id, '22');
    assert.equal(claims.job_id, '4242');
    assert.equal(claims.user_login, 'alice');
    assert.equal(claims.job_project_path, undefined);
  });

  test('issuer comparison ignores a trailing slash on either side', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(`${gl.url}/`, AUD));
    const v = await verifyIdToken(token, { issuer: gl.url, audience: AUD, keys: source(), clockSkewSeconds: 0, now: () => NOW });
    assert.equal(v.claims.project_path, 'group/app');
    const v2 = await verifyIdToken(await mint(key, gitlabClaims(gl.url, AUD)), {
      issuer: `${gl.url}/`,
      audience: AUD,
      keys: source(),
      clockSkewSeconds: 0,
      now: () => NOW,
    });
    assert.equal(v2.claims.project_path, 'group/app');
  });

  test('an expired token is refused, saying when it expired', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, AUD, { exp: NOW_S - 600, iat: NOW_S - 4000, nbf: NOW_S - 4000 }));
    await refused(verify(token), token, BuildFailure, /expired at 2030-06-01T11:50:00\.000Z, 600 s ago/);
  });

  test('expiry within the allowed clock skew is still accepted', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, AUD, { exp: NOW_S - 10 }));
    assert.equal((await verify(token)).claims.project_path, 'group/app');
  });

  test('a token for another audience is refused, naming both audiences', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, 'sts.amazonaws.com'));
    await refused(verify(token), token, BuildFailure, /audience "sts\.amazonaws\.com" is not "https:\/\/gitlab\.example\.com"/);
  });

  test('a tampered payload fails the signature check', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, AUD, { ref_protected: 'false', ref: 'feature' }));
    const [h, , s] = token.split('.');
    const forged = base64url.encode(JSON.stringify(gitlabClaims(gl.url, AUD, { ref_protected: 'true', ref: 'main' })));
    const tampered = `${h}.${forged}.${s}`;
    await refused(verify(tampered), tampered, BuildFailure, /signature does not match/);
  });

  test('alg "none" is refused before any key is used', async (t) => {
    t.after(cleanup);
    const h = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const token = `${h}.${base64url.encode(JSON.stringify(gitlabClaims(gl.url, AUD)))}.`;
    await refused(verify(token), token, BuildFailure, /alg "none" \(it is unsigned\).*only RS256/);
    assert.equal(gl.total(), 0, 'no keys were fetched for an unsigned token');
  });

  test('HS256 signed with the public key as the HMAC secret (algorithm confusion) is refused', async (t) => {
    t.after(cleanup);
    const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk));
    const token = await new SignJWT(gitlabClaims(gl.url, AUD)).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(secret);
    await refused(verify(token), token, BuildFailure, /alg "HS256"; only RS256/);
  });

  test('a token signed by another GitLab with a key id we do not know: refetched once, then refused', async (t) => {
    t.after(cleanup);
    const keys = source();
    await verify(await mint(key, gitlabClaims(gl.url, AUD)), keys); // warm the cache
    assert.equal(gl.keysHits(), 1);
    const later = new Date(NOW.getTime() + 120_000);
    const token = await mint(foreign, gitlabClaims(gl.url, AUD));
    const src = source({ now: () => later });
    await refused(verify(token, src, later), token, BuildFailure, /key id "other-gitlab-key".*not among GitLab's keys.*not even after fetching them again/);
    assert.equal(gl.keysHits(), 2, 'exactly one refetch');
  });

  test('a flood of unknown key ids does not hammer GitLab: no refetch while the keys are fresh', async (t) => {
    t.after(cleanup);
    await verify(await mint(key, gitlabClaims(gl.url, AUD)));
    const before = gl.total();
    for (let i = 0; i < 5; i++) {
      const bogus = await mint(foreign, gitlabClaims(gl.url, AUD), { kid: `bogus-${i}` });
      await refused(
        verify(bogus, source({ now: () => new Date(NOW.getTime() + 5_000) })),
        bogus,
        BuildFailure,
        /fetched 5 s ago, so they are not fetched again yet/,
      );
    }
    assert.equal(gl.total(), before, 'no request to GitLab');
  });

  test('a foreign key presented under our key id fails the signature check', async (t) => {
    t.after(cleanup);
    const token = await mint(foreign, gitlabClaims(gl.url, AUD), { kid: key.kid });
    await refused(verify(token), token, BuildFailure, /signature does not match/);
  });

  test('after key rotation a new key id is fetched once and accepted', async (t) => {
    t.after(cleanup);
    await verify(await mint(key, gitlabClaims(gl.url, AUD)));
    const rotated = await newKey('gitlab-key-2');
    gl.setKeys([rotated, key]);
    const later = new Date(NOW.getTime() + 60_000);
    const { claims } = await verify(await mint(rotated, gitlabClaims(gl.url, AUD)), source({ now: () => later }), later);
    assert.equal(claims.project_path, 'group/app');
    assert.equal(gl.keysHits(), 2);
  });

  test('a token issued by another issuer is refused even when signed by our key', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims('https://evil.example.com', AUD));
    await refused(verify(token), token, BuildFailure, /issued by "https:\/\/evil\.example\.com", not by this runner's GitLab/);
  });

  test('not yet valid, issued in the future, or missing GitLab claims: refused with the reason', async (t) => {
    t.after(cleanup);
    const nbf = await mint(key, gitlabClaims(gl.url, AUD, { nbf: NOW_S + 600 }));
    await refused(verify(nbf), nbf, BuildFailure, /not valid before 2030-06-01T12:10:00\.000Z/);
    const iat = await mint(key, gitlabClaims(gl.url, AUD, { iat: NOW_S + 600, nbf: NOW_S - 5 }));
    await refused(verify(iat), iat, BuildFailure, /issued at 2030-06-01T12:10:00\.000Z, 600 s in the future/);
    const noProject = await mint(key, gitlabClaims(gl.url, AUD, { project_path: undefined }));
    await refused(verify(noProject), noProject, BuildFailure, /"project_path" claim is missing/);
    const noSub = await mint(key, gitlabClaims(gl.url, AUD, { sub: undefined }));
    await refused(verify(noSub), noSub, BuildFailure, /"sub" claim is missing/);
  });

  test('garbage and malformed tokens are refused as not a JWT', async (t) => {
    t.after(cleanup);
    for (const junk of ['', 'hello', 'a.b', 'a.b.c.d', '!!!.???.###', `${base64url.encode('{not json')}.${base64url.encode('{}')}.sig`]) {
      await refused(verify(junk), junk, BuildFailure, /empty|not a JWT|header is not valid/);
    }
    const signedJunk = await new CompactSign(new TextEncoder().encode('not a claims set'))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .sign(key.privateKey);
    await refused(verify(signedJunk), signedJunk, BuildFailure, /malformed/);
  });
});

describe('JWKS by discovery, cached on disk', () => {
  test('within the TTL a new process uses the cache without any request', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, AUD));
    await verify(token);
    const n = gl.total();
    assert.equal(n, 2, 'discovery + keys');
    await verify(token, source({ now: () => new Date(NOW.getTime() + 3_000_000) }));
    assert.equal(gl.total(), n, 'cache hit: no request');
    const fst = await stat(cachePath);
    assert.equal(fst.mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'jwks'))).mode & 0o777, 0o700);
  });

  test('after the TTL the keys are fetched again', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, AUD));
    await verify(token);
    const later = new Date(NOW.getTime() + 3601_000);
    await verify(await mint(key, gitlabClaims(gl.url, AUD, { exp: NOW_S + 7200 })), source({ now: () => later }), later);
    assert.equal(gl.keysHits(), 2);
  });

  test('GitLab down and no cache: a retryable system failure, not a build failure', async (t) => {
    t.after(cleanup);
    gl.failWith(503);
    const token = await mint(key, gitlabClaims(gl.url, AUD));
    await refused(verify(token), token, SystemFailure, /OIDC discovery document.*HTTP 503/);
  });

  test('GitLab down with a stale cache: known keys still verify', async (t) => {
    t.after(cleanup);
    await verify(await mint(key, gitlabClaims(gl.url, AUD)));
    gl.failWith(500);
    const later = new Date(NOW.getTime() + 7200_000);
    const warnings: string[] = [];
    const token = await mint(key, gitlabClaims(gl.url, AUD, { exp: NOW_S + 9000 }));
    const { claims } = await verify(token, source({ now: () => later, warn: (m) => warnings.push(m) }), later);
    assert.equal(claims.project_path, 'group/app');
    assert.match(warnings.join('\n'), /Using the cached keys/);
  });

  test('GitLab down, stale cache, and a key id the cache lacks: a system failure, since rotation cannot be ruled out', async (t) => {
    t.after(cleanup);
    await verify(await mint(key, gitlabClaims(gl.url, AUD)));
    gl.failWith(502);
    const later = new Date(NOW.getTime() + 7200_000);
    const rotated = await newKey('gitlab-key-2');
    const token = await mint(rotated, gitlabClaims(gl.url, AUD, { exp: NOW_S + 9000 }));
    const before = gl.total();
    await refused(verify(token, source({ now: () => later }), later), token, SystemFailure, /cannot be fetched.*HTTP 502/);
    assert.equal(gl.total() - before, 1, 'one attempt (the discovery document), not one per check');
  });

  test('a jwks_uri on another origin is refused', async (t) => {
    t.after(cleanup);
    const other = await startIssuer([foreign]);
    t.after(() => other.close());
    gl.setJwksUri(`${other.url}/oauth/discovery/keys`);
    const token = await mint(foreign, gitlabClaims(gl.url, AUD));
    await refused(verify(token), token, SystemFailure, /Refusing jwks_uri.*not on the issuer's origin/);
    assert.equal(other.total(), 0, 'the foreign keys were never fetched');
  });

  test('a cache file that is a symlink to planted keys is not followed', async (t) => {
    t.after(cleanup);
    await verify(await mint(key, gitlabClaims(gl.url, AUD))); // creates the directory
    await rm(cachePath);
    const planted = join(dir, 'planted.json');
    await writeFile(planted, JSON.stringify({ issuer: gl.url, jwksUri: 'x', fetchedAt: NOW.getTime(), jwks: { keys: [foreign.publicJwk] } }), { mode: 0o600 });
    await symlink(planted, cachePath);
    const token = await mint(foreign, gitlabClaims(gl.url, AUD));
    const warnings: string[] = [];
    await refused(verify(token, source({ warn: (m) => warnings.push(m) })), token, BuildFailure, /not among GitLab's keys/);
    assert.match(warnings.join('\n'), /symlink/);
  });
});

test('a cache directory others can write to is refused (planted keys would forge tokens)', async (t) => {
  t.after(cleanup);
  await mkdir(join(dir, 'jwks'), { mode: 0o700 });
  await chmod(join(dir, 'jwks'), 0o777);
  const token = await mint(key, gitlabClaims(gl.url, AUD));
  await refused(verify(token), token, SystemFailure, /writable by another user/);
  assert.equal(gl.total(), 0);
});

describe('JWKS from a static file', () => {
  test('verifies offline: no request at all', async (t) => {
    t.after(cleanup);
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [key.publicJwk] }));
    const token = await mint(key, gitlabClaims(gl.url, AUD));
    const { claims } = await verify(token, jwksFromFile(file));
    assert.equal(claims.ref_protected, true);
    const bogus = await mint(foreign, gitlabClaims(gl.url, AUD));
    await refused(verify(bogus, jwksFromFile(file)), bogus, BuildFailure, /static file .* never refetched/);
    assert.equal(gl.total(), 0);
  });

  test('a missing file is a system failure naming the key', async (t) => {
    t.after(cleanup);
    const token = await mint(key, gitlabClaims(gl.url, AUD));
    await refused(verify(token, jwksFromFile(join(dir, 'nope.json'))), token, SystemFailure, /\[gitlab\]\.jwks_file.*ENOENT/);
  });
});
