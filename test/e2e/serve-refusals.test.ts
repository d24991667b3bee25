// jobrole serve refuses as the contract says: 401 for every bad token, 403 for refused or unknown roles, 429, 503 — and calls no AWS for them.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, createSecretKey } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { gitlabClaims } from '../fakes/oidc-issuer.js';
import { claimsFor, flipPayloadChar, rewritePayload } from './id-token-helpers.js';
import { assertNothingLeaked, BROKER_AUDIENCE, getCredentials, startServeWorld, stsCalls, type BrokerProcess, type ServeWorld } from './serve-world.js';
import { MAIN_DEPLOYER_ROLE } from '../harness/roles.js';

const ROLES = `${MAIN_DEPLOYER_ROLE}
[[roles]]
name = "prod-secret-admin"
arn = "arn:aws:iam::111122223333:role/prod-secret-admin"
  [roles.allow]
  projects = ["group/app"]
  protected = true
  environments = ["production"]
`;

describe('jobrole serve refusals', () => {
  let world: ServeWorld;
  let broker: BrokerProcess;
  const tokens: string[] = [];
  const url = (role: string) => `${broker.url}/v1/credentials/${role}`;
  const mint = async (jobId: number, extra: Record<string, unknown> = {}, opts: Parameters<ServeWorld['token']>[2] = {}) => {
    const t = await world.token({ jobId, projectId: 77 }, extra, opts);
    tokens.push(t);
    return t;
  };

  before(async () => {
    world = await startServeWorld({ roles: ROLES, serve: 'rate_limit = 2' });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    world.emu.addRole({ arn: world.roleArn('prod-secret-admin'), trust: { principals: [world.emu.hostRoleArn] } });
    broker = await world.start();
  });
  after(async () => {
    await assertNothingLeaked(world, [broker], tokens);
    await world.close();
  });

  /** HS256 signed with the issuer's published RSA public key as the HMAC secret: the classic key-confusion attack. */
  async function hs256WithPublicKey(): Promise<string> {
    const res = await fetch(`${world.emu.oidc.issuer}/oauth/discovery/keys`);
    const jwks = (await res.json()) as { keys: JWK[] };
    const jwk = jwks.keys[0] as JWK;
    const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const payload = gitlabClaims(world.emu.oidc.issuer, claimsFor({ jobId: 31, projectId: 77 }, { aud: BROKER_AUDIENCE }), Math.floor(Date.now() / 1000), 3600);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(jwk.kid !== undefined ? { kid: jwk.kid } : {}) })
      .sign(createSecretKey(Buffer.from(pem)));
  }

  test('every bad token gets 401 with a JSON body, and no AWS call is made', async () => {
    const good = await mint(31);
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['missing', undefined, /no Authorization header/],
      ['empty Bearer', 'Bearer ', /no Authorization header|empty|not a JWT/],
      ['malformed', 'not-a-jwt', /not a JWT/],
      ['tampered payload', flipPayloadChar(good), /signature|not valid|malformed/],
      ['claims rewritten (project)', rewritePayload(good, { project_path: 'group/other' }), /signature/],
      ['forged (foreign key, same kid)', await mint(31, {}, { signWith: 'foreign' }), /signature/],
      ['alg none', await mint(31, {}, { alg: 'none' }), /alg "none"/],
      ['HS256 with the public key', await hs256WithPublicKey(), /alg "HS256"/],
      ['unknown kid', await mint(31, {}, { kid: 'no-such-key' }), /key id/],
      ['expired', await mint(31, {}, { expiresIn: -600 }), /expired/],
      ["wrong audience (the driver's)", await mint(31, { aud: 'https://jobrole.test/aud' }), /audience/],
      ['no job_id', await mint(31, { job_id: undefined }), /job_id/],
    ];
    const before = world.emu.calls.length;
    for (const [name, authorization, why] of cases) {
      if (authorization !== undefined) tokens.push(authorization.replace(/^Bearer /, ''));
      const r = await getCredentials(url('deployer'), authorization);
      assert.equal(r.status, 401, `${name}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.headers['content-type']), /application\/json/, name);
      assert.equal(r.body.code, 'InvalidToken', name);
      assert.match(String(r.body.message), why, `${name}: ${String(r.body.message)}`);
      assert.equal(r.body.AccessKeyId, undefined, name);
    }
    assert.deepEqual(
      world.emu.calls
        .slice(before)
        .filter((c) => c.service === 'sts')
        .map((c) => c.action),
      [],
      'a refused request reached STS',
    );
    // The same good token is accepted as a bare header and as "Bearer <token>".
    assert.equal((await getCredentials(url('deployer'), good)).status, 200);
    assert.equal((await getCredentials(url('deployer'), `Bearer ${good}`)).status, 200);
  });

  test('a refused role gets 403 naming only what failed for that role; an unknown role gets 403 too', async () => {
    const token = await mint(32, { ref: 'feature-x' });
    const before = stsCalls(world.emu, 'AssumeRole');
    const refused = await getCredentials(url('deployer'), token);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'AccessDenied');
    assert.equal(refused.body.Code, 'AccessDenied', 'the SDKs read Code/Message');
    const msg = String(refused.body.message);
    assert.match(msg, /role "deployer"/);
    assert.match(msg, /refs: ref "feature-x" does not match "main"/);
    assert.doesNotMatch(msg, /prod-secret-admin|protected|environments/, "the message names only the requested role's conditions");

    const admin = await getCredentials(url('prod-secret-admin'), await mint(33));
    assert.equal(admin.status, 403);
    assert.match(String(admin.body.message), /protected: ref_protected is false/);
    assert.match(String(admin.body.message), /environments: environment \(none\)/);
    assert.doesNotMatch(String(admin.body.message), /deployer/);

    const unknown = await getCredentials(url('no-such-role'), await mint(34));
    assert.equal(unknown.status, 403);
    assert.equal(unknown.body.code, 'AccessDenied');
    assert.match(String(unknown.body.message), /no-such-role/);
    assert.doesNotMatch(String(unknown.body.message), /deployer|prod-secret-admin/);
    assert.equal(stsCalls(world.emu, 'AssumeRole'), before, 'refusals made no STS call');

    const audit = await world.audit();
    assert.match(audit, /"event":"decision".*"job_id":32.*"outcome":"deny"/);
  });

  test('claims a job variable would fake come only from the token: a token saying protected/production gets the admin role', async () => {
    const token = await mint(35, { ref_protected: 'true', environment: 'production' });
    const r = await getCredentials(url('prod-secret-admin'), token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.RoleArn, world.roleArn('prod-secret-admin'));
  });

  test('more than the per-job rate gets 429 with Retry-After; another job is not affected', async () => {
    const token = await mint(36);
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) statuses.push((await getCredentials(url('deployer'), token)).status);
    assert.ok(
      statuses.slice(0, 5).every((s) => s === 200),
      statuses.join(','),
    );
    assert.ok(statuses.includes(429), statuses.join(','));
    const limited = await getCredentials(url('deployer'), token);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'Throttled');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((await getCredentials(url('deployer'), await mint(37))).status, 200);
  });

  test('STS throttling is retried with backoff, then answered 503; the next request after it clears succeeds', async () => {
    const token = await mint(38);
    const before = stsCalls(world.emu, 'AssumeRole');
    world.emu.faults.throttle('AssumeRole', 3);
    const r = await getCredentials(url('deployer'), token);
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.code, 'ServiceUnavailable');
    assert.equal(stsCalls(world.emu, 'AssumeRole') - before, 3, "max_attempts = 3 attempts by the SDK's standard retry mode");
    const ok = await getCredentials(url('deployer'), token);
    assert.equal(ok.status, 200);
  });

  test('unknown paths and methods', async () => {
    assert.equal((await getCredentials(`${broker.url}/latest/meta-data/`)).status, 404);
    assert.equal((await getCredentials(`${broker.url}/v1/credentials/..%2Fetc`)).status, 404);
    const health = await getCredentials(`${broker.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
  });
});
