// Cleanup with fake services: the order undo steps run in, and what a failing step leaves (quarantine, state for gc).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { cleanupStage } from '../../src/stages/cleanup.js';
import { jobUndoSteps } from '../../src/stages/undo-steps.js';
import { DELIVERY_REGISTRY, STRATEGY_REGISTRY } from '../../src/stages/registry.js';
import { writeJobState } from '../../src/state/job-store.js';
import { readQuarantine } from '../../src/state/quarantine.js';
import { slotHolders } from '../../src/state/slots.js';
import type { JobState, JobUser } from '../../src/state/types.js';
import { fakeWorld, onlyState, type FakeOptions, type FakeWorld } from './fake-services.js';
import { configured } from './configured.js';

const USER: JobUser = { name: 'jrtunit1', uid: 64001, gid: 64001, home: '/nonexistent/jrtunit1' };

/** A configured job whose state records every kind of undo record: endpoint, sandbox, swapped profile, job user. */
async function fullJob(t: Parameters<typeof fakeWorld>[0], opts: FakeOptions = {}): Promise<{ w: FakeWorld; env: NodeJS.ProcessEnv; state: JobState }> {
  const w = await fakeWorld(t, { user: USER, ...opts });
  const env = await configured(w);
  const base = (await onlyState(w)) as JobState;
  const state: JobState = {
    ...base,
    user: USER,
    phase: 'prepared',
    broker: { pid: 999999, startTime: '1', port: 1, feedSocket: `${w.dir}/feed.sock` },
    sandbox: { initPid: 999998, startTime: '1' },
    instanceProfile: {
      instanceId: 'i-0fake',
      baselineProfileArn: undefined,
      baselineAssociationId: undefined,
      jobAssociationId: 'iip-assoc-2',
      jobProfile: 'swapper-profile',
    },
    secrets: ['fake-secret'],
    jobEnv: { AWS_SECRET_ACCESS_KEY: 'fake-secret' },
  };
  await writeJobState(w.svc.layout, state);
  return { w, env, state };
}

test('cleanup undoes in order: delivery, sandbox, strategy, slot, credential files; then releases the slot and deletes the state', async (t) => {
  const { w, env } = await fullJob(t);
  await cleanupStage(w.svc, env);
  assert.deepEqual(w.rec.calls, [
    'step stop the credentials endpoint',
    "step end the job's sandbox",
    'step restore the instance profile of i-0fake',
    'step scrub slot 1',
  ]);
  assert.match(
    w.rec.lines.at(-1) ?? '',
    /scrubbed \(stop the credentials endpoint, end the job's sandbox, restore the instance profile of i-0fake, scrub slot 1, remove credential files, release slot 1\)/,
  );
  assert.equal(await onlyState(w), undefined);
  assert.equal((await slotHolders(w.svc.layout, 1))[0]?.holder, undefined);
  assert.equal(w.rec.audit.at(-1)?.outcome, 'ok');
});

test('a failing step: every later step still runs; cleanup fails naming it; slot quarantined; state kept without secrets', async (t) => {
  const { w, env, state } = await fullJob(t, { failingSteps: ["end the job's sandbox"] });
  await assert.rejects(
    cleanupStage(w.svc, env),
    (err: Error) => err instanceof SystemFailure && /end the job's sandbox: end the job's sandbox failed/.test(err.message) && /jobrole gc/.test(err.message),
  );
  assert.deepEqual(w.rec.calls, [
    'step stop the credentials endpoint',
    "step end the job's sandbox",
    'step restore the instance profile of i-0fake',
    'step scrub slot 1',
  ]);
  const kept = await onlyState(w);
  assert.equal(kept?.phase, 'scrubbing');
  assert.deepEqual(kept?.secrets, []);
  assert.deepEqual(kept?.jobEnv, {});
  assert.equal((await slotHolders(w.svc.layout, 1))[0]?.holder, state.key, 'never half-released');
  assert.equal((await readQuarantine(w.svc.layout, 1))?.key, state.key);
  assert.equal(w.rec.audit.at(-1)?.outcome, 'incomplete');
});

test('cleanup twice, or with no state handed over: nothing to do is success', async (t) => {
  const { w, env } = await fullJob(t);
  await cleanupStage(w.svc, env);
  await cleanupStage(w.svc, env);
  assert.match(w.rec.lines.at(-1) ?? '', /has no state left/);
  await cleanupStage(w.svc, {});
  assert.match(w.rec.lines.at(-1) ?? '', /no job state was handed over/);
});

test('the real strategies and deliveries contribute undo steps only from records the state holds, in cleanup order', async (t) => {
  const { w, state } = await fullJob(t);
  const real = { ...w.svc, strategies: STRATEGY_REGISTRY, deliveries: DELIVERY_REGISTRY };
  const withBaseline: JobState = {
    ...state,
    instanceProfileBaseline: { roleName: 'host', accessKeyId: 'ASIAHOST', secretAccessKey: 's', sessionToken: 't', expiration: '2099-01-01T00:00:00Z' },
  };
  assert.deepEqual(
    jobUndoSteps(withBaseline, real).map((s) => s.name),
    [
      'stop the credentials endpoint',
      "end the job's sandbox",
      'check that job users are fenced off the metadata service',
      'restore the instance profile of i-0fake',
      'release the host lock',
      'scrub slot 1',
      'remove credential files',
    ],
  );
  const { broker: _b, sandbox: _s, instanceProfile: _i, user: _u, ...bare } = state;
  assert.deepEqual(
    jobUndoSteps({ ...bare, isolation: 'none' }, real).map((s) => s.name),
    ['release the host lock', 'remove credential files'],
  );
});
