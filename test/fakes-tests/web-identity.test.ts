// The OIDC issuer and AssumeRoleWithWebIdentity: signature, expiry and trust conditions on sub and aud.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { errorOf, fromSts, sts } from './helpers.js';

describe('OIDC issuer and AssumeRoleWithWebIdentity', () => {
  let emu: AwsEmulator;
  let anon: STSClient;
  let host: string;
  const deploy = 'arn:aws:iam::111122223333:role/gitlab-deploy';
  const anyBranch = 'arn:aws:iam::111122223333:role/gitlab-any-branch';

  before(async () => {
    emu = await startAwsEmulator();
    host = emu.oidc.issuer.replace(/^http:\/\//, '');
    emu.addRole({
      arn: deploy,
      maxSessionDuration: 43200,
      trust: {
        federated: {
          issuer: emu.oidc.issuer,
          conditions: { StringEquals: { [`${host}:aud`]: 'https://gitlab.example.com', [`${host}:sub`]: 'project_path:group/app:ref_type:branch:ref:main' } },
        },
      },
    });
    emu.addRole({
      arn: anyBranch,
      trust: {
        federated: {
          issuer: emu.oidc.issuer,
          conditions: {
            StringEquals: { [`${host}:aud`]: 'https://gitlab.example.com' },
            StringLike: { [`${host}:sub`]: 'project_path:group/app:ref_type:branch:ref:release/*' },
          },
        },
      },
    });
    // Web identity needs no AWS credentials at all.
    anon = new STSClient({ region: emu.region, endpoint: emu.endpoint, maxAttempts: 1, credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
  });
  after(() => emu.stop());

  const mint = (claims: Record<string, unknown> = {}, opts = {}) =>
    emu.oidc.mintToken({ aud: 'https://gitlab.example.com', project_path: 'group/app', ...claims }, opts);

  test('discovery and JWKS are GitLab-shaped and verify the tokens it mints', async () => {
    const conf = (await (await fetch(`${emu.oidc.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(conf['issuer'], emu.oidc.issuer);
    assert.equal(conf['jwks_uri'], `${emu.oidc.issuer}/oauth/discovery/keys`);
    const jwt = await mint();
    const { payload, protectedHeader } = await jwtVerify(jwt, createRemoteJWKSet(new URL(conf['jwks_uri'])), {
      issuer: emu.oidc.issuer,
      audience: 'https://gitlab.example.com',
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.sub, 'project_path:group/app:ref_type:branch:ref:main');
    assert.equal(payload['ref_protected'], 'false');
    assert.equal(payload['namespace_path'], 'group');
    assert.ok((payload.nbf ?? 0) < (payload.iat ?? 0));
    assert.ok(emu.oidc.jwksFetches >= 1);
  });

  test('a matching token gets a session up to the role maximum (no chaining cap), and it works', async () => {
    const r = await anon.send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: deploy, RoleSessionName: 'job-9', WebIdentityToken: await mint(), DurationSeconds: 7200 }),
    );
    assert.equal(r.SubjectFromWebIdentityToken, 'project_path:group/app:ref_type:branch:ref:main');
    assert.equal(r.Audience, 'https://gitlab.example.com');
    assert.equal(r.AssumedRoleUser?.Arn, 'arn:aws:sts::111122223333:assumed-role/gitlab-deploy/job-9');
    const id = await sts(emu, fromSts(r.Credentials)).send(new GetCallerIdentityCommand({}));
    assert.equal(id.Arn, 'arn:aws:sts::111122223333:assumed-role/gitlab-deploy/job-9');
    const call = emu.calls.find((c) => c.action === 'AssumeRoleWithWebIdentity' && c.status === 200);
    assert.ok(call !== undefined && !('WebIdentityToken' in call.params), 'the token is not kept in the call log');
    // A web-identity session is a role session: AssumeRole from it is chaining.
    emu.addRole({ arn: 'arn:aws:iam::111122223333:role/next', maxSessionDuration: 43200 });
    const e = await errorOf(
      sts(emu, fromSts(r.Credentials)).send(
        new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111122223333:role/next', RoleSessionName: 'n', DurationSeconds: 7200 }),
      ),
    );
    assert.equal(e.name, 'ValidationError');
  });

  test('wrong aud or wrong sub → AccessDenied "Not authorized to perform sts:AssumeRoleWithWebIdentity"', async () => {
    for (const claims of [{ aud: 'https://elsewhere.example.com' }, { ref: 'feature' }, { project_path: 'group/other' }]) {
      const e = await errorOf(
        anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: deploy, RoleSessionName: 'job', WebIdentityToken: await mint(claims) })),
      );
      assert.deepEqual([e.name, e.message], ['AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity'], JSON.stringify(claims));
    }
  });

  test('StringLike matches sub with wildcards', async () => {
    const ok = await anon.send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: anyBranch, RoleSessionName: 'rel', WebIdentityToken: await mint({ ref: 'release/1.2' }) }),
    );
    assert.ok(ok.Credentials?.AccessKeyId);
    const e = await errorOf(
      anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: anyBranch, RoleSessionName: 'rel', WebIdentityToken: await mint({ ref: 'main' }) })),
    );
    assert.equal(e.name, 'AccessDenied');
  });

  test('a token signed by a key the issuer never published, or with another alg, is InvalidIdentityToken', async () => {
    for (const opts of [{ signWith: 'foreign' }, { alg: 'HS256' }, { alg: 'none' }, { kid: 'unknown-kid' }]) {
      const e = await errorOf(
        anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: deploy, RoleSessionName: 'job', WebIdentityToken: await mint({}, opts) })),
      );
      assert.equal(e.name, 'InvalidIdentityTokenException', JSON.stringify(opts));
    }
  });

  test('an expired token is ExpiredTokenException', async () => {
    const jwt = await mint({}, { expiresIn: -10 });
    assert.ok((decodeJwt(jwt).exp ?? 0) < Date.now() / 1000);
    const e = await errorOf(anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: deploy, RoleSessionName: 'job', WebIdentityToken: jwt })));
    assert.equal(e.name, 'ExpiredTokenException');
  });

  test('after rotateKeys new tokens use a new kid; old tokens verify while the old key stays published', async () => {
    const old = await mint();
    emu.oidc.rotateKeys();
    const fresh = await mint();
    assert.notEqual(decodeProtectedHeader(old).kid, decodeProtectedHeader(fresh).kid);
    for (const jwt of [old, fresh])
      assert.ok((await anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: deploy, RoleSessionName: 'rot', WebIdentityToken: jwt }))).Credentials);
    emu.oidc.rotateKeys({ keepOld: false });
    const e = await errorOf(anon.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: deploy, RoleSessionName: 'rot', WebIdentityToken: old })));
    assert.equal(e.name, 'InvalidIdentityTokenException');
  });
});
