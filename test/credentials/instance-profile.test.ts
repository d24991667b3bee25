// The instance-profile strategy's prepare: replace and associate paths, undo persisted first, timeouts restore.

import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoleConfig } from '../../src/config/types.js';
import type { InstanceProfileUndo } from '../../src/state/types.js';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { prepareInstanceProfile, RestoreFailed, type BaselineCredentials, type InstanceProfileDeps } from '../../src/credentials/instance-profile.js';
import { createWorld, HOST_PROFILE_ARN, INSTANCE, JOB_PROFILE_ARN, JOB_ROLE_ARN, awsError, type World } from './instance-profile-world.js';
import { ReplaceIamInstanceProfileAssociationCommand } from '@aws-sdk/client-ec2';

const role: RoleConfig = {
  name: 'deploy-prod',
  arn: JOB_ROLE_ARN,
  strategy: 'instance-profile',
  instance_profile: 'job-profile',
  max_duration: 3600,
  session_policy: '',
  policy_arns: [],
  allow: {},
};

let world: World;
let persisted: Array<{ undo: InstanceProfileUndo; baseline: BaselineCredentials }>;
let log: string[];

function deps(over: Partial<InstanceProfileDeps> = {}): InstanceProfileDeps {
  return {
    imds: world.imds,
    ec2: world.ec2,
    sts: world.sts,
    settings: { propagation_timeout: 60, poll_interval_ms: 500 },
    persistUndo: async (undo, baseline) => {
      world.events.push('persist');
      persisted.push({ undo: structuredClone(undo), baseline: structuredClone(baseline) });
    },
    progress: (line) => log.push(line),
    now: world.now,
    sleep: world.sleep,
    ...over,
  };
}

afterEach(() => world.restoreMocks());
beforeEach(() => {
  persisted = [];
  log = [];
});

describe('prepareInstanceProfile', () => {
  test('replace path: swaps the host profile for the job profile and returns the confirmed metadata credentials', async () => {
    world = createWorld({ baseline: HOST_PROFILE_ARN, propagationPolls: 3 });
    const hostCreds = world.credsFor('host-role');
    const result = await prepareInstanceProfile(role, deps());

    assert.deepEqual(world.mutations(), ['replace:iip-assoc-1']);
    const replace = world.ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand)[0];
    assert.deepEqual(replace?.args[0].input, { AssociationId: 'iip-assoc-1', IamInstanceProfile: { Name: 'job-profile' } });
    // Every EC2 call was signed with the credentials IMDS served before the swap.
    assert.deepEqual(world.signers, [hostCreds.accessKeyId]);

    assert.equal(world.state.assoc?.profileArn, JOB_PROFILE_ARN);
    assert.deepEqual(result.session.credentials, world.credsFor('deploy'));
    assert.equal(result.session.roleArn, JOB_ROLE_ARN);
    assert.equal(result.session.assumedRoleArn, `arn:aws:sts::111122223333:assumed-role/deploy/${INSTANCE}`);
    assert.equal(result.session.sessionName, INSTANCE);
    assert.deepEqual(result.undo, {
      instanceId: INSTANCE,
      baselineProfileArn: HOST_PROFILE_ARN,
      baselineAssociationId: 'iip-assoc-1',
      jobAssociationId: 'iip-assoc-2',
      jobProfile: 'job-profile',
    });
    assert.equal(result.baseline.roleName, 'host-role');
    assert.equal(result.baseline.accessKeyId, hostCreds.accessKeyId);
    assert.equal(result.baseline.expiration, hostCreds.expiration.toISOString());

    // Persisted twice: before the swap without, after it with the job's association id.
    assert.equal(persisted.length, 2);
    assert.equal(persisted[0]?.undo.jobAssociationId, undefined);
    assert.equal(persisted[1]?.undo.jobAssociationId, 'iip-assoc-2');
    assert.deepEqual(persisted[0]?.baseline, result.baseline);

    assert.ok(log.some((l) => l.includes('waiting for the instance metadata service to serve role deploy')));
    assert.ok(log.some((l) => l.includes('confirmed arn:aws:sts::111122223333:assumed-role/deploy/')));
    assert.ok(!log.join('\n').includes(hostCreds.secretAccessKey));
    assert.ok(!log.join('\n').includes(world.credsFor('deploy').sessionToken));
  });

  test('associate path: an instance without a profile gets the job profile, signed with the fallback credentials', async () => {
    world = createWorld({ baseline: undefined });
    const fallback = {
      accessKeyId: 'AKIAFALLBACK00000000',
      secretAccessKey: 's',
      sessionToken: 't',
      expiration: new Date(world.now().getTime() + 12 * 3600_000),
    };
    const result = await prepareInstanceProfile({ ...role, instance_profile: JOB_PROFILE_ARN }, deps({ fallbackCredentials: async () => fallback }));

    assert.deepEqual(world.mutations(), ['associate']);
    assert.deepEqual(world.signers, ['AKIAFALLBACK00000000']);
    assert.equal(result.undo.baselineProfileArn, undefined);
    assert.equal(result.undo.baselineAssociationId, undefined);
    assert.equal(result.undo.jobAssociationId, 'iip-assoc-1');
    assert.equal(result.baseline.roleName, undefined);
    assert.deepEqual(result.session.credentials, world.credsFor('deploy'));
  });

  test('an instance without a profile and without other credentials is refused before any change', async () => {
    world = createWorld({ baseline: undefined });
    await assert.rejects(prepareInstanceProfile(role, deps()), (err: Error) => {
      assert.ok(err instanceof SystemFailure);
      assert.match(err.message, /no profile and no other driver credentials/);
      return true;
    });
    assert.deepEqual(world.mutations(), []);
    assert.equal(persisted.length, 0);
  });

  test('the undo record is persisted before any EC2 change, and a failed persist changes nothing', async () => {
    world = createWorld({ baseline: HOST_PROFILE_ARN });
    await prepareInstanceProfile(role, deps());
    const firstPersist = world.events.indexOf('persist');
    const firstMutation = world.events.findIndex((e) => e.startsWith('replace'));
    assert.ok(firstPersist >= 0 && firstPersist < firstMutation, world.events.join(' '));
    world.restoreMocks();

    world = createWorld({ baseline: HOST_PROFILE_ARN });
    await assert.rejects(
      prepareInstanceProfile(
        role,
        deps({
          persistUndo: async () => {
            throw new Error('disk full');
          },
        }),
      ),
      (err: Error) => err instanceof SystemFailure && /nothing was changed.*disk full/.test(err.message),
    );
    assert.deepEqual(world.mutations(), []);
  });

  test('propagation timeout: restores the baseline profile, then fails as a system failure', async () => {
    world = createWorld({ baseline: HOST_PROFILE_ARN, propagationPolls: 1_000_000 });
    const started = world.now().getTime();
    await assert.rejects(prepareInstanceProfile(role, deps({ settings: { propagation_timeout: 30, poll_interval_ms: 1000 } })), (err: Error) => {
      assert.ok(err instanceof SystemFailure);
      assert.ok(!(err instanceof RestoreFailed));
      assert.match(err.message, /did not serve role deploy within 30 s/);
      assert.match(err.message, /baseline profile was restored/);
      return true;
    });
    const waited = world.now().getTime() - started;
    assert.ok(waited >= 30_000 && waited < 40_000, `waited ${waited} ms`);
    assert.deepEqual(world.mutations(), ['replace:iip-assoc-1', 'replace:iip-assoc-2']);
    assert.equal(world.state.assoc?.profileArn, HOST_PROFILE_ARN);
    assert.ok(log.some((l) => l.includes('still waiting for role deploy')));
    assert.ok(log.some((l) => l.includes('restoring')));
  });

  test('a failing swap call still leads to a verified restore (nothing to undo) and a system failure', async () => {
    world = createWorld({ baseline: HOST_PROFILE_ARN });
    world.ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).rejects(awsError('UnauthorizedOperation', 'not authorized to perform iam:PassRole'));
    await assert.rejects(prepareInstanceProfile(role, deps()), (err: Error) => {
      assert.ok(err instanceof SystemFailure && !(err instanceof RestoreFailed));
      assert.match(err.message, /UnauthorizedOperation/);
      return true;
    });
    assert.equal(world.state.assoc?.profileArn, HOST_PROFILE_ARN);
  });

  test('when the restore after a failure fails too, RestoreFailed comes out (host unhealthy)', async () => {
    world = createWorld({ baseline: HOST_PROFILE_ARN, propagationPolls: 1_000_000 });
    let replaces = 0;
    const original = world.ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand);
    original.callsFake(() => {
      replaces++;
      if (replaces === 1) {
        world.state.assoc = { id: 'iip-assoc-9', profileArn: JOB_PROFILE_ARN, state: 'associated' };
        return { IamInstanceProfileAssociation: { AssociationId: 'iip-assoc-9', State: 'associating' } };
      }
      throw awsError('UnauthorizedOperation', 'permission removed');
    });
    await assert.rejects(prepareInstanceProfile(role, deps({ settings: { propagation_timeout: 5, poll_interval_ms: 1000 } })), (err: Error) => {
      assert.ok(err instanceof RestoreFailed);
      assert.equal(err.reason, 'denied');
      assert.match(err.message, /jobrole gc --restore/);
      return true;
    });
  });

  test('refuses when the instance already carries the job profile (an earlier swap not undone)', async () => {
    world = createWorld({ baseline: JOB_PROFILE_ARN });
    world.state.served = 'other-role';
    await assert.rejects(prepareInstanceProfile(role, deps()), /already carries the job's profile/);
    assert.deepEqual(world.mutations(), []);
  });

  test("refuses when the metadata service already serves the job's role", async () => {
    world = createWorld({ baseline: JOB_PROFILE_ARN });
    await assert.rejects(prepareInstanceProfile(role, deps()), /already serves the job's role deploy/);
    assert.deepEqual(world.mutations(), []);
  });

  test('refuses when the baseline credentials expire before the job deadline', async () => {
    world = createWorld({ baseline: HOST_PROFILE_ARN, credentialHours: 1 });
    const deadline = new Date(world.now().getTime() + 2 * 3600_000);
    await assert.rejects(prepareInstanceProfile(role, deps({ deadline })), /expire at .* before the job's deadline/);
    assert.deepEqual(world.mutations(), []);
  });

  test('waits for an association that is still settling before reading it', async () => {
    world = createWorld({ baseline: HOST_PROFILE_ARN, associatingDescribes: 2 });
    world.state.assoc = { id: 'iip-assoc-1', profileArn: HOST_PROFILE_ARN, state: 'associating' };
    world.state.associatingLeft = 2;
    const result = await prepareInstanceProfile(role, deps());
    assert.equal(result.undo.baselineAssociationId, 'iip-assoc-1');
    assert.ok(world.events.filter((e) => e === 'describe').length >= 3);
  });
});
