// Injected faults per action and a steady rate limit, seen through the SDK's own retries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeIamInstanceProfileAssociationsCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { ec2, errorOf, hostCreds, ssm, sts } from './helpers.js';

describe('fault injection', () => {
  let emu: AwsEmulator;
  const role = 'arn:aws:iam::111122223333:role/busy';

  before(async () => {
    emu = await startAwsEmulator();
    emu.addRole({ arn: role });
    emu.putParameter('/p', 'v');
  });
  after(() => emu.stop());

  const attemptsOf = (action: string, from: number) => emu.calls.slice(from).filter((c) => c.action === action);

  test('throttle(n): each service answers with its throttling error, the next call succeeds', async () => {
    emu.faults.throttle('GetCallerIdentity', 1);
    const s = await errorOf(sts(emu).send(new GetCallerIdentityCommand({})));
    assert.deepEqual([s.name, s.status, s.message], ['Throttling', 400, 'Rate exceeded']);
    assert.ok((await sts(emu).send(new GetCallerIdentityCommand({}))).Arn);
    emu.faults.throttle('DescribeIamInstanceProfileAssociations', 1);
    assert.equal((await errorOf(ec2(emu).send(new DescribeIamInstanceProfileAssociationsCommand({})))).name, 'RequestLimitExceeded');
    emu.faults.throttle('GetParameter', 1);
    assert.equal((await errorOf(ssm(emu).send(new GetParameterCommand({ Name: '/p' })))).name, 'ThrottlingException');
  });

  test('the SDK retries throttling and 500s and then succeeds; the call log shows every attempt', async () => {
    const mark = emu.calls.length;
    emu.faults.throttle('AssumeRole', 1);
    emu.faults.fail500('AssumeRole', 1);
    const r = await sts(emu, hostCreds(emu), 3).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'retry' }));
    assert.ok(r.Credentials?.AccessKeyId);
    assert.deepEqual(
      attemptsOf('AssumeRole', mark).map((c) => c.error ?? c.status),
      ['Throttling', 'InternalFailure', 200],
    );
  });

  test('deny(action, n) refuses with AccessDenied; delayMs slows an action down; clear() removes everything', async () => {
    emu.faults.deny('GetCallerIdentity', 1);
    const e = await errorOf(sts(emu).send(new GetCallerIdentityCommand({})));
    assert.deepEqual([e.name, e.status], ['AccessDenied', 403]);
    emu.faults.delayMs('GetCallerIdentity', 300);
    const t0 = Date.now();
    await sts(emu).send(new GetCallerIdentityCommand({}));
    assert.ok(Date.now() - t0 >= 290);
    emu.faults.deny('GetCallerIdentity');
    emu.faults.clear();
    const t1 = Date.now();
    await sts(emu).send(new GetCallerIdentityCommand({}));
    assert.ok(Date.now() - t1 < 290);
  });

  test('a steady rate limit throttles a burst of 20 concurrent AssumeRole calls, and SDK backoff gets them all through', async () => {
    emu.faults.rateLimit('AssumeRole', 5);
    try {
      const mark = emu.calls.length;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sts(emu, hostCreds(emu), 10).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: `job-${i}` }))),
      );
      assert.equal(results.filter((r) => r.Credentials?.AccessKeyId).length, 20);
      const attempts = attemptsOf('AssumeRole', mark);
      assert.ok(attempts.filter((c) => c.error === 'Throttling').length >= 10, 'most of the burst was throttled at first');
      assert.equal(attempts.filter((c) => c.status === 200).length, 20);
    } finally {
      emu.faults.rateLimit('AssumeRole', 0);
    }
  });
});
