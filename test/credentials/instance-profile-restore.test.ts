// Restoring the baseline profile: from persisted records only, idempotent, race states, expired or denied credentials.

import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DisassociateIamInstanceProfileCommand, ReplaceIamInstanceProfileAssociationCommand } from '@aws-sdk/client-ec2';
import type { InstanceProfileUndo } from '../../src/state/types.js';
import {
  parseBaseline,
  restoreInstanceProfile,
  restoreInstanceProfileAsOperator,
  RestoreFailed,
  toBaseline,
  type BaselineCredentials,
} from '../../src/credentials/instance-profile.js';
import { createWorld, HOST_PROFILE_ARN, INSTANCE, JOB_PROFILE_ARN, awsError, type World } from './instance-profile-world.js';

let world: World;
afterEach(() => world.restoreMocks());

/** A world where a job's swap happened and IMDS already serves the job's role. */
function swapped(baseline: string | undefined): { undo: InstanceProfileUndo; baseline: BaselineCredentials } {
  world = createWorld({ baseline, propagationPolls: 2 });
  const hostRole = baseline === undefined ? undefined : 'host-role';
  const base = toBaseline(hostRole, baseline === undefined ? world.credsFor('fallback') : world.credsFor('host-role'));
  world.state.assoc = { id: 'iip-assoc-7', profileArn: JOB_PROFILE_ARN, state: 'associated' };
  world.state.served = 'deploy';
  const undo: InstanceProfileUndo = {
    instanceId: INSTANCE,
    baselineProfileArn: baseline,
    baselineAssociationId: baseline === undefined ? undefined : 'iip-assoc-1',
    jobAssociationId: 'iip-assoc-7',
    jobProfile: 'job-profile',
  };
  return { undo, baseline: base };
}

function restoreDeps(w: World) {
  return { ec2: w.ec2, imds: w.imds, now: w.now, sleep: w.sleep, pollIntervalMs: 500, timeoutMs: 30_000 };
}

describe('restoreInstanceProfile', () => {
  test('crash recovery: the persisted records alone put the baseline back, signed with the baseline credentials', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    // What a later process (cleanup, gc) reads back from the state file.
    const onDisk = JSON.parse(JSON.stringify(rec)) as { undo: InstanceProfileUndo; baseline: unknown };
    const undo: InstanceProfileUndo = {
      ...onDisk.undo,
      baselineAssociationId: onDisk.undo.baselineAssociationId,
      jobAssociationId: onDisk.undo.jobAssociationId,
    };
    await restoreInstanceProfile(undo, { ...restoreDeps(world), baseline: parseBaseline(onDisk.baseline) });

    assert.deepEqual(world.mutations(), ['replace:iip-assoc-7']);
    const call = world.ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand)[0];
    assert.deepEqual(call?.args[0].input.IamInstanceProfile, { Arn: HOST_PROFILE_ARN });
    assert.deepEqual(world.signers, [world.credsFor('host-role').accessKeyId]);
    assert.equal(world.state.assoc?.profileArn, HOST_PROFILE_ARN);
    assert.equal(world.state.assoc?.state, 'associated'); // verified, not just requested
    assert.equal(world.state.served, 'host-role'); // waited for IMDS to follow
  });

  test('an instance that had no profile is disassociated and verified empty', async () => {
    const rec = swapped(undefined);
    await restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline });
    assert.deepEqual(world.mutations(), ['disassociate:iip-assoc-7']);
    assert.equal(world.state.assoc, undefined);
    assert.equal(world.state.served, undefined);
  });

  test('idempotent: restoring an already restored instance changes nothing and succeeds', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    await restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline });
    await restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline });
    await restoreInstanceProfile({ ...rec.undo, jobAssociationId: undefined }, { ...restoreDeps(world), baseline: rec.baseline });
    assert.deepEqual(world.mutations(), ['replace:iip-assoc-7']);
  });

  test('still associating: waits for the association to settle before acting', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    world.state.assoc = { id: 'iip-assoc-7', profileArn: JOB_PROFILE_ARN, state: 'associating' };
    world.state.associatingLeft = 3;
    await restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline });
    const evts = world.events.filter((e) => e === 'describe' || e.startsWith('replace'));
    assert.deepEqual(evts.slice(0, 5), ['describe', 'describe', 'describe', 'describe', 'replace:iip-assoc-7']);
    assert.equal(world.state.assoc?.profileArn, HOST_PROFILE_ARN);
  });

  test('InvalidAssociationID.NotFound: describes again and acts on the association that is really there', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    world.once.replace = () => {
      world.events.push('replace:raced');
      // Someone (a retried earlier attempt) changed the association under us.
      world.state.assoc = { id: 'iip-assoc-8', profileArn: JOB_PROFILE_ARN, state: 'associated' };
      throw awsError('InvalidAssociationID.NotFound', "The association ID 'iip-assoc-7' does not exist");
    };
    await restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline });
    assert.deepEqual(world.mutations(), ['replace:raced', 'replace:iip-assoc-8']);
    assert.equal(world.state.assoc?.profileArn, HOST_PROFILE_ARN);
  });

  test('IncorrectState on associate: describes again and finds the baseline already back', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    world.state.assoc = undefined; // the job's association is gone (disassociated by hand)
    world.once.associate = () => {
      world.events.push('associate:raced');
      world.state.assoc = { id: 'iip-assoc-9', profileArn: HOST_PROFILE_ARN, state: 'associated' };
      throw awsError('IncorrectState', `There is an existing association for instance ${INSTANCE}`);
    };
    await restoreInstanceProfile(rec.undo, { ec2: world.ec2, now: world.now, sleep: world.sleep, pollIntervalMs: 500, baseline: rec.baseline });
    assert.deepEqual(world.mutations(), ['associate:raced']);
    assert.equal(world.profile(), HOST_PROFILE_ARN);
  });

  test('expired baseline credentials: RestoreFailed(credentials-expired) without touching EC2', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    world.advance(7 * 3600_000);
    await assert.rejects(restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline }), (err: Error) => {
      assert.ok(err instanceof RestoreFailed);
      assert.equal(err.reason, 'credentials-expired');
      assert.equal(err.instanceId, INSTANCE);
      assert.match(err.message, /jobrole gc --restore/);
      return true;
    });
    assert.deepEqual(
      world.events.filter((e) => !e.startsWith('imds')),
      [],
    );
  });

  test('credentials AWS rejects or a removed permission: RestoreFailed with the reason', async () => {
    let rec = swapped(HOST_PROFILE_ARN);
    world.ec2Mock
      .on(ReplaceIamInstanceProfileAssociationCommand)
      .rejects(awsError('AuthFailure', 'AWS was not able to validate the provided access credentials'));
    await assert.rejects(
      restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline }),
      (err: Error) => err instanceof RestoreFailed && err.reason === 'credentials-expired',
    );
    world.restoreMocks();

    rec = swapped(HOST_PROFILE_ARN);
    world.ec2Mock
      .on(ReplaceIamInstanceProfileAssociationCommand)
      .rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    await assert.rejects(restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline }), (err: Error) => {
      assert.ok(err instanceof RestoreFailed);
      assert.equal(err.reason, 'denied');
      assert.match(err.message, /UnauthorizedOperation/);
      return true;
    });
    assert.equal(world.state.assoc?.profileArn, JOB_PROFILE_ARN);
  });

  test('an association that never settles: RestoreFailed(not-verified) at the timeout', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    world.state.assoc = { id: 'iip-assoc-7', profileArn: JOB_PROFILE_ARN, state: 'associating' };
    world.state.associatingLeft = Number.POSITIVE_INFINITY;
    await assert.rejects(
      restoreInstanceProfile(rec.undo, { ...restoreDeps(world), baseline: rec.baseline }),
      (err: Error) => err instanceof RestoreFailed && err.reason === 'not-verified',
    );
  });

  test('operator restore: fresh credentials (or the default chain) put the recorded baseline back', async () => {
    const rec = swapped(HOST_PROFILE_ARN);
    world.advance(7 * 3600_000); // the captured baseline has expired
    const fresh = { accessKeyId: 'AKIAOPERATOR00000000', secretAccessKey: 's', sessionToken: '', expiration: new Date(world.now().getTime() + 3600_000) };
    await restoreInstanceProfileAsOperator(rec.undo, { ...restoreDeps(world), credentials: fresh, baselineRoleName: 'host-role' });
    assert.deepEqual(world.signers, ['AKIAOPERATOR00000000']);
    assert.equal(world.state.assoc?.profileArn, HOST_PROFILE_ARN);

    world.restoreMocks();
    const again = swapped(undefined);
    await restoreInstanceProfileAsOperator(again.undo, { ec2: world.ec2, now: world.now, sleep: world.sleep });
    assert.deepEqual(world.signers, ['default-chain']);
    assert.equal(world.ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand).length, 1);
    assert.equal(world.state.assoc, undefined);
  });
});
