// The instance-profile undo through cleanup on fake services: no restore unless the IMDS fence holds, never half-way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ImdsClient } from '../../src/aws/imds.js';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { cleanupStage } from '../../src/stages/cleanup.js';
import { collectGarbage } from '../../src/stages/gc.js';
import { operatorRestore } from '../../src/stages/restore.js';
import { STRATEGY_REGISTRY } from '../../src/stages/registry.js';
import { jobDir, writeJobState } from '../../src/state/job-store.js';
import { readHealth } from '../../src/state/host-health.js';
import type { JobState, JobUser } from '../../src/state/types.js';
import { fakeWorld, onlyState, type FakeOptions } from './fake-services.js';
import { configured } from './configured.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const USER: JobUser = { name: 'jrtunit3', uid: 64003, gid: 64003, home: '/nonexistent/jrtunit3' };
const UNDO = {
  instanceId: 'i-0fake',
  baselineProfileArn: 'arn:aws:iam::111122223333:instance-profile/host',
  baselineAssociationId: 'iip-assoc-1',
  jobAssociationId: 'iip-assoc-2',
  jobProfile: 'ci-legacy',
};
const BASELINE = {
  roleName: 'host',
  accessKeyId: 'ASIAHOSTBASELINE0001',
  secretAccessKey: 'host-secret',
  sessionToken: 'host-token',
  expiration: '2099-01-01T00:00:00.000Z',
};

/** A swapped job on the real instance-profile strategy, with EC2 and IMDS that record any use. */
async function swappedJob(t: Parameters<typeof fakeWorld>[0], opts: FakeOptions, patch: Partial<JobState>) {
  const w = await fakeWorld(t, { user: USER, ...opts });
  const awsUsed: string[] = [];
  w.svc.aws = {
    ...w.svc.aws,
    ec2: async () => {
      awsUsed.push('ec2');
      return { send: async () => Promise.reject(new Error('unit test: EC2 must not be called')) } as unknown as EC2Client;
    },
    imds: () => {
      awsUsed.push('imds');
      throw new Error('unit test: IMDS must not be read');
    },
  };
  w.svc.strategies = { ...w.svc.strategies, 'instance-profile': STRATEGY_REGISTRY['instance-profile'] };
  const env = await configured(w);
  const state = { ...((await onlyState(w)) as JobState), user: USER, ...patch };
  await writeJobState(w.svc.layout, state);
  return { w, env, awsUsed };
}

test('the fence cannot be confirmed: no restore is attempted, the host is marked unhealthy, the job stays for gc', async (t) => {
  const { w, env, awsUsed } = await swappedJob(
    t,
    { fenceFails: new Error('nft: table jobrole missing and cannot be created') },
    { instanceProfile: UNDO, instanceProfileBaseline: BASELINE },
  );
  await assert.rejects(
    cleanupStage(w.svc, env),
    (err: Error) => err instanceof SystemFailure && /not restored, host marked unhealthy: nft: table jobrole missing/.test(err.message),
  );
  assert.deepEqual(awsUsed, [], 'EC2 and IMDS were never touched: the host role did not come back');
  const health = await readHealth(w.svc.config.driver.state_dir);
  assert.ok(!health.healthy && /nft: table jobrole missing/.test(health.reason) && /not restored/.test(health.reason));
  assert.equal((await onlyState(w))?.instanceProfile?.instanceId, 'i-0fake', 'the undo record stays for gc --restore');
});

test('a job of isolation "none" on a host whose config now runs job users is still fenced before the restore', async (t) => {
  const { w, env, awsUsed } = await swappedJob(
    t,
    { fenceFails: new Error('block missing') },
    { isolation: 'none', instanceProfile: UNDO, instanceProfileBaseline: BASELINE },
  );
  await assert.rejects(cleanupStage(w.svc, env), /not restored, host marked unhealthy: block missing/);
  assert.ok(w.rec.calls.includes('fence check'));
  assert.deepEqual(awsUsed, []);
});

test('an undo record without the driver credentials to sign the restore never passes as undone', async (t) => {
  const { w, env, awsUsed } = await swappedJob(t, {}, { instanceProfile: UNDO });
  await assert.rejects(
    cleanupStage(w.svc, env),
    /restore the instance profile of i-0fake: not restored, host marked unhealthy: .* holds no driver credentials/,
  );
  assert.deepEqual(awsUsed, []);
  assert.equal((await readHealth(w.svc.config.driver.state_dir)).healthy, false);
  assert.ok(await onlyState(w), "kept for gc --restore, which can sign with the operator's credentials");
});

test('an unreadable state that records a swap is kept and stops new jobs; gc --restore does not call the host healthy over it', async (t) => {
  const w = await fakeWorld(t, { user: USER });
  const key = '4300-0123456789ab';
  await mkdir(jobDir(w.svc.layout, key), { recursive: true, mode: 0o700 });
  // Truncated mid-write, but the undo record's name is there.
  await writeFile(join(jobDir(w.svc.layout, key), 'state.json'), `{"version":1,"key":"${key}","instanceProfile":{"instanceId":"i-0fa`, { mode: 0o600 });
  const r = await collectGarbage(w.svc);
  assert.deepEqual(r.failed, [key]);
  assert.ok(existsSync(join(jobDir(w.svc.layout, key), 'state.json')), 'not removed');
  const health = await readHealth(w.svc.config.driver.state_dir);
  assert.ok(!health.healthy && /records an instance-profile swap; restore the instance profile by hand/.test(health.reason));
  // The restore creates its IMDS client up front; nothing may be asked of it here.
  w.svc.aws = { ...w.svc.aws, imds: () => ({}) as ImdsClient };
  assert.equal(await operatorRestore(w.svc), 1);
  assert.equal((await readHealth(w.svc.config.driver.state_dir)).healthy, false, 'still unhealthy');
  assert.ok(w.rec.warnings.some((l) => /job state 4300-0123456789ab cannot be read, so a swap it may record cannot be restored/.test(l)));
  // One without a swap is removed as before.
  const plainKey = '4301-0123456789ab';
  await mkdir(jobDir(w.svc.layout, plainKey), { recursive: true, mode: 0o700 });
  await writeFile(join(jobDir(w.svc.layout, plainKey), 'state.json'), '{"version":1,"ke', { mode: 0o600 });
  await collectGarbage(w.svc);
  assert.ok(!existsSync(jobDir(w.svc.layout, plainKey)));
});
