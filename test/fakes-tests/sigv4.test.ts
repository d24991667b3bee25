// Signature checks: only keys the emulator issued, signed with their secret over the exact request, unexpired.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeIamInstanceProfileAssociationsCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { ec2, errorOf, fromSts, sleep, ssm, sts } from './helpers.js';

describe('SigV4 verification', () => {
  let emu: AwsEmulator;
  const role = 'arn:aws:iam::111122223333:role/sig';

  before(async () => {
    emu = await startAwsEmulator();
    emu.addRole({ arn: role });
  });
  after(() => emu.stop());

  test('an access key the emulator never issued is InvalidClientTokenId (STS), AuthFailure (EC2), UnrecognizedClientException (SSM)', async () => {
    const fake = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
    const s = await errorOf(sts(emu, fake).send(new GetCallerIdentityCommand({})));
    assert.deepEqual([s.name, s.status], ['InvalidClientTokenId', 403]);
    const e = await errorOf(ec2(emu, fake).send(new DescribeIamInstanceProfileAssociationsCommand({})));
    assert.equal(e.name, 'AuthFailure');
    const p = await errorOf(ssm(emu, fake).send(new GetParameterCommand({ Name: '/x' })));
    assert.equal(p.name, 'UnrecognizedClientException');
  });

  test('the right key with the wrong secret is SignatureDoesNotMatch', async () => {
    const wrong = { accessKeyId: emu.host.accessKeyId, secretAccessKey: emu.host.secretAccessKey.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) };
    const e = await errorOf(sts(emu, wrong).send(new GetCallerIdentityCommand({})));
    assert.deepEqual([e.name, e.status], ['SignatureDoesNotMatch', 403]);
  });

  test('a body changed after signing is SignatureDoesNotMatch', async () => {
    const client = sts(emu);
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body?: string };
        if (typeof req.body === 'string') req.body = req.body.replace('RoleSessionName=honest', 'RoleSessionName=forged');
        return next(args);
      },
      { step: 'deserialize', name: 'tamper' },
    );
    const e = await errorOf(client.send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'honest' })));
    assert.equal(e.name, 'SignatureDoesNotMatch');
    assert.ok(!emu.sessions.some((s) => s.sessionName === 'forged'));
  });

  test('a session key needs its own session token', async () => {
    const r = await sts(emu).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'tok' }));
    const creds = fromSts(r.Credentials);
    const noToken = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
    assert.equal((await errorOf(sts(emu, noToken).send(new GetCallerIdentityCommand({})))).name, 'InvalidClientTokenId');
    const other = await sts(emu).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'tok2' }));
    const mixed = { ...creds, sessionToken: other.Credentials?.SessionToken ?? '' };
    assert.equal((await errorOf(sts(emu, mixed).send(new GetCallerIdentityCommand({})))).name, 'InvalidClientTokenId');
    assert.ok((await sts(emu, creds).send(new GetCallerIdentityCommand({}))).Arn);
  });

  test('any region in the credential scope is accepted', async () => {
    const client = new STSClient({
      region: 'eu-central-1',
      endpoint: emu.endpoint,
      maxAttempts: 1,
      credentials: { accessKeyId: emu.host.accessKeyId, secretAccessKey: emu.host.secretAccessKey },
    });
    assert.equal((await client.send(new GetCallerIdentityCommand({}))).Arn, emu.host.arn);
  });

  test('an unsigned call is refused with MissingAuthenticationToken', async () => {
    const res = await fetch(emu.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    assert.equal(res.status, 403);
    const text = await res.text();
    assert.match(text, /<Code>MissingAuthenticationToken<\/Code>/);
    assert.match(text, /xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"/);
  });

  test('credentials stop working at their (scaled) Expiration with ExpiredToken', async () => {
    emu.credentialLifetimeScale = 0.002; // 900 s → 1.8 s
    try {
      const r = await sts(emu).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'short', DurationSeconds: 900 }));
      const exp = r.Credentials?.Expiration?.getTime() ?? 0;
      assert.ok(exp - Date.now() <= 3000, 'the Expiration returned is the shortened one');
      const client = sts(emu, fromSts(r.Credentials));
      assert.ok((await client.send(new GetCallerIdentityCommand({}))).Arn);
      await sleep(Math.max(0, exp - Date.now()) + 50);
      const e = await errorOf(client.send(new GetCallerIdentityCommand({})));
      assert.deepEqual([e.name, e.status], ['ExpiredToken', 403]);
    } finally {
      emu.credentialLifetimeScale = 1;
    }
  });

  test('expire() ends a key at once', async () => {
    const r = await sts(emu).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'gone' }));
    emu.expire(r.Credentials?.AccessKeyId ?? '');
    assert.equal((await errorOf(sts(emu, fromSts(r.Credentials)).send(new GetCallerIdentityCommand({})))).name, 'ExpiredToken');
  });
});
