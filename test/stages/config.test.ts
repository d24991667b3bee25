// The config stage with fake services: its JSON, the state it writes (clock from the services), and its refusals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { VERSION } from '../../src/core/version.js';
import { markUnhealthy } from '../../src/state/host-health.js';
import { quarantineSlot } from '../../src/state/quarantine.js';
import { fakeWorld, onlyState } from './fake-services.js';
import { configured, runConfigStage } from './configured.js';

const NOW = new Date('2030-05-01T12:00:00.000Z');

test("one JSON line on stdout: the slot's dirs, the driver, and the job's state dir in job_env", async (t) => {
  const w = await fakeWorld(t);
  w.svc.now = () => NOW;
  const text = await runConfigStage(w, await w.jobEnv({ jobId: 777, timeout: 1800 }));
  assert.equal(text.split('\n').filter(Boolean).length, 1, 'nothing else on stdout: the runner parses it as JSON');
  const json = JSON.parse(text) as Record<string, unknown> & { job_env: Record<string, string> };
  const state = await onlyState(w);
  assert.ok(state !== undefined);
  assert.deepEqual(json, {
    builds_dir: join(w.svc.config.driver.builds_dir, 'slot1'),
    cache_dir: join(w.svc.config.driver.cache_dir, 'slot1'),
    builds_dir_is_shared: false,
    hostname: json['hostname'],
    driver: { name: 'jobrole', version: VERSION },
    job_env: { JOBROLE_JOB_DIR: join(w.svc.layout.jobs, state.key) },
  });
  assert.match(state.key, /^777-[0-9a-f]{12}$/);
  assert.equal(state.createdAt, NOW.toISOString(), "the clock is the services' clock");
  assert.equal(state.deadline, new Date(NOW.getTime() + (1800 + 3600) * 1000).toISOString(), 'timeout plus an hour of grace');
  assert.deepEqual(
    state.job,
    { id: 777, projectId: 77, projectPath: 'group/app', pipelineId: 9001, ref: 'main' },
    'the pipeline id from job_info.pipeline_id (runner >= 19.0)',
  );
  assert.equal(state.phase, 'configured');
});

test('a host marked unhealthy refuses the job before any slot is claimed', async (t) => {
  const w = await fakeWorld(t);
  await markUnhealthy(w.svc.config.driver.state_dir, 'the instance profile of i-0fake was not restored');
  await assert.rejects(runConfigStage(w, await w.jobEnv()), (err: Error) => err instanceof SystemFailure && /not restored/.test(err.message));
  assert.equal(await onlyState(w), undefined);
});

test('the only slot quarantined: refused, naming the slot and what failed; the job log says it was skipped', async (t) => {
  const w = await fakeWorld(t);
  await quarantineSlot(w.svc.layout, 1, undefined, 'scrub slot 1: processes survived');
  await assert.rejects(
    runConfigStage(w, await w.jobEnv()),
    (err: Error) => err instanceof SystemFailure && /processes survived/.test(err.message) && /jobrole gc/.test(err.message),
  );
  assert.ok(w.rec.warnings.some((l) => /skipped/.test(l)));
});

test("the slot of a live job stays taken; an abandoned job's is swept first and handed over", async (t) => {
  const w = await fakeWorld(t);
  await configured(w, { jobId: 1 });
  w.svc.host.liveness = async () => ({ live: true });
  await assert.rejects(runConfigStage(w, await w.jobEnv({ jobId: 2 })), (err: Error) => err instanceof SystemFailure && /busy \(job 1\)/.test(err.message));
  w.svc.host.liveness = async () => ({ live: false, why: 'fake: its runner is gone' });
  await runConfigStage(w, await w.jobEnv({ jobId: 3 }));
  assert.equal((await onlyState(w))?.job.id, 3, 'the sweep scrubbed job 1 before the claim');
  assert.ok(w.rec.audit.some((r) => r.event === 'scrub' && r.job_id === 1 && /abandoned: fake: its runner is gone/.test(r.detail ?? '')));
});
