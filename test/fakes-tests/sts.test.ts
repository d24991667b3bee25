// STS through the real JS SDK: AssumeRole, GetCallerIdentity and the limits AWS enforces.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { errorOf, fromSts, sts } from './helpers.js';

describe('STS emulator', () => {
  let emu: AwsEmulator;
  const deploy = 'arn:aws:iam::111122223333:role/deploy';
  const longRole = 'arn:aws:iam::111122223333:role/long';
  const locked = 'arn:aws:iam::111122223333:role/locked';

  before(async () => {
    emu = await startAwsEmulator();
    emu.addRole({ arn: deploy, trust: { principals: [emu.host.arn, emu.hostRoleArn, deploy] } });
    emu.addRole({ arn: longRole, maxSessionDuration: 43200, trust: { principals: ['*'] } });
    emu.addRole({ arn: locked, trust: { principals: ['arn:aws:iam::111122223333:role/someone-else'] } });
  });
  after(() => emu.stop());

  test('GetCallerIdentity names the host IAM user', async () => {
    const id = await sts(emu).send(new GetCallerIdentityCommand({}));
    assert.equal(id.Arn, emu.host.arn);
    assert.equal(id.Account, '111122223333');
    assert.match(id.UserId ?? '', /^AIDA[A-Z0-9]{17}$/);
  });

  test('AssumeRole returns AWS-shaped credentials that work and identify the session', async () => {
    const r = await sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'job-42', DurationSeconds: 900 }));
    const c = r.Credentials;
    assert.match(c?.AccessKeyId ?? '', /^ASIA[A-Z0-9]{16}$/);
    assert.equal(c?.SecretAccessKey?.length, 40);
    assert.ok((c?.SessionToken?.length ?? 0) > 300);
    const expiresIn = (c?.Expiration?.getTime() ?? 0) - Date.now();
    assert.ok(expiresIn > 890_000 && expiresIn <= 901_000, `expiration ${expiresIn} ms away`);
    assert.equal(r.AssumedRoleUser?.Arn, 'arn:aws:sts::111122223333:assumed-role/deploy/job-42');
    const id = await sts(emu, fromSts(c)).send(new GetCallerIdentityCommand({}));
    assert.equal(id.Arn, 'arn:aws:sts::111122223333:assumed-role/deploy/job-42');
    assert.match(id.UserId ?? '', /^AROA[A-Z0-9]{17}:job-42$/);
  });

  test('an IAM user may ask for up to the role maximum; a chained session is capped at one hour', async () => {
    const fromUser = await sts(emu).send(new AssumeRoleCommand({ RoleArn: longRole, RoleSessionName: 'long', DurationSeconds: 43200 }));
    assert.ok(fromUser.Credentials?.AccessKeyId);
    const chained = sts(emu, fromSts(fromUser.Credentials));
    const e = await errorOf(chained.send(new AssumeRoleCommand({ RoleArn: longRole, RoleSessionName: 'again', DurationSeconds: 3601 })));
    assert.equal(e.name, 'ValidationError');
    assert.equal(e.message, 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    const ok = await chained.send(new AssumeRoleCommand({ RoleArn: longRole, RoleSessionName: 'again', DurationSeconds: 3600 }));
    assert.ok(ok.Credentials?.AccessKeyId);
  });

  test('DurationSeconds outside 900..role max is refused', async () => {
    const low = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'x1', DurationSeconds: 899 })));
    assert.equal(low.name, 'ValidationError');
    const high = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'x1', DurationSeconds: 3601 })));
    assert.equal(high.message, 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  });

  test('RoleSessionName must be 2..64 chars of [\\w+=,.@-]', async () => {
    for (const bad of ['a', 'x'.repeat(65), 'has space', 'job/1']) {
      const e = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: bad })));
      assert.equal(e.name, 'ValidationError', bad);
    }
    const ok = await sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'a+b=c,d.e@f-g_h' }));
    assert.ok(ok.Credentials);
  });

  test('a caller the trust policy does not name gets AccessDenied, and so does an unknown role', async () => {
    const e = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: locked, RoleSessionName: 'nope' })));
    assert.equal(e.name, 'AccessDenied');
    assert.equal(e.status, 403);
    assert.match(e.message, /user\/jobrole-host is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role\/locked/);
    const u = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111122223333:role/missing', RoleSessionName: 'nope' })));
    assert.equal(u.name, 'AccessDenied');
  });

  test('session tags and source identity are recorded; source identity cannot change down the chain', async () => {
    const r = await sts(emu).send(
      new AssumeRoleCommand({
        RoleArn: deploy,
        RoleSessionName: 'tagged',
        SourceIdentity: 'gitlab-job-7',
        Tags: [{ Key: 'project', Value: 'group/app' }],
        TransitiveTagKeys: ['project'],
      }),
    );
    assert.equal(r.SourceIdentity, 'gitlab-job-7');
    assert.ok((r.PackedPolicySize ?? 0) > 0);
    const session = emu.credential(r.Credentials?.AccessKeyId ?? '');
    assert.equal(session?.sourceIdentity, 'gitlab-job-7');
    assert.deepEqual(session?.tags, { project: 'group/app' });
    const chained = sts(emu, fromSts(r.Credentials));
    const changed = await errorOf(chained.send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'c2', SourceIdentity: 'someone-else' })));
    assert.equal(changed.name, 'AccessDenied');
    const kept = await chained.send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'c3' }));
    const inner = emu.credential(kept.Credentials?.AccessKeyId ?? '');
    assert.equal(inner?.sourceIdentity, 'gitlab-job-7');
    assert.equal(inner?.tags['project'], 'group/app');
  });

  test('SourceIdentity and tag rules', async () => {
    const aws = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 's', SourceIdentity: 'aws:me' })));
    assert.equal(aws.name, 'ValidationError');
    const dup = await errorOf(
      sts(emu).send(
        new AssumeRoleCommand({
          RoleArn: deploy,
          RoleSessionName: 'dup',
          Tags: [
            { Key: 'Env', Value: 'a' },
            { Key: 'env', Value: 'b' },
          ],
        }),
      ),
    );
    assert.equal(dup.name, 'InvalidParameterValue');
    const badChar = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'bc', Tags: [{ Key: 'ref', Value: 'feature#1' }] })));
    assert.equal(badChar.name, 'ValidationError');
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const many = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'many', Tags: tooMany })));
    assert.equal(many.name, 'ValidationError');
  });

  test('session policies: size, JSON, ARN count, and PackedPolicyTooLarge above the packed budget', async () => {
    const big = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'x'.repeat(2100) }] });
    assert.equal((await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'p1', Policy: big })))).name, 'ValidationError');
    assert.equal(
      (await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'p2', Policy: '{not json' })))).name,
      'MalformedPolicyDocumentException',
    );
    const arns = Array.from({ length: 11 }, (_, i) => ({ arn: `arn:aws:iam::aws:policy/P${i}` }));
    assert.equal((await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'p3', PolicyArns: arns })))).name, 'ValidationError');

    const before = emu.packedPolicyLimit;
    emu.packedPolicyLimit = 64;
    try {
      const tags = [
        { Key: 'project', Value: 'group/some-long-project-name' },
        { Key: 'ref', Value: 'release/2024.1' },
        { Key: 'pipeline', Value: '123456' },
      ];
      const e = await errorOf(sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'packed', Tags: tags })));
      assert.equal(e.name, 'PackedPolicyTooLargeException');
      const fewer = await sts(emu).send(new AssumeRoleCommand({ RoleArn: deploy, RoleSessionName: 'packed', Tags: tags.slice(2) }));
      assert.ok(fewer.Credentials?.AccessKeyId, 'dropping tags makes it fit');
    } finally {
      emu.packedPolicyLimit = before;
    }
  });

  test('every call is logged with its caller key and without secrets', async () => {
    const mark = emu.calls.length;
    await sts(emu).send(new GetCallerIdentityCommand({}));
    const logged = emu.calls.slice(mark);
    assert.equal(logged.length, 1);
    assert.deepEqual(
      [logged[0]?.service, logged[0]?.action, logged[0]?.accessKeyId, logged[0]?.status],
      ['sts', 'GetCallerIdentity', emu.host.accessKeyId, 200],
    );
    assert.ok(!JSON.stringify(emu.calls).includes(emu.host.secretAccessKey));
  });
});
