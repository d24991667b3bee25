// jobLiveness: a job is live only while its deadline holds and the very runner process that started it runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readProcessStartTime } from '../../src/core/process-identity.js';
import { jobLiveness } from '../../src/state/liveness.js';
import { sampleState } from './state-fixture.js';

const NOW = new Date('2030-01-01T01:00:00Z');
const linux = process.platform === 'linux' ? false : 'needs /proc';

test('a job whose scrub started is never live again', async () => {
  const r = await jobLiveness({ ...sampleState(), phase: 'scrubbing', runner: { pid: process.pid, startTime: undefined, tmpDir: '/tmp/x' } }, NOW);
  assert.deepEqual(r, { live: false, why: 'a scrub of it was started and did not finish' });
});

test('past its deadline a job is dead, even with its runner alive', async () => {
  const r = await jobLiveness(
    { ...sampleState(), deadline: '2030-01-01T00:59:59.000Z', runner: { pid: process.pid, startTime: undefined, tmpDir: '/tmp/x' } },
    NOW,
  );
  assert.deepEqual(r, { live: false, why: 'its deadline 2030-01-01T00:59:59.000Z has passed' });
});

test('live while the recorded runner process (same start time) runs', { skip: linux }, async () => {
  const startTime = await readProcessStartTime(process.pid);
  assert.ok(startTime !== undefined);
  assert.deepEqual(await jobLiveness({ ...sampleState(), runner: { pid: process.pid, startTime, tmpDir: '/tmp/x' } }, NOW), { live: true });
  assert.deepEqual(await jobLiveness({ ...sampleState(), runner: { pid: process.pid, startTime: undefined, tmpDir: '/tmp/x' } }, NOW), { live: true });
});

test('a reused pid (different start time) is not the runner', { skip: linux }, async () => {
  const r = await jobLiveness({ ...sampleState(), runner: { pid: process.pid, startTime: '1', tmpDir: '/tmp/x' } }, NOW);
  assert.deepEqual(r, { live: false, why: `the runner process ${process.pid} that started it is gone (pid reused)` });
});

test('a runner that exited means the job is dead', { skip: linux }, async () => {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  assert.ok(pid !== undefined);
  await once(child, 'exit');
  const r = await jobLiveness({ ...sampleState(), runner: { pid, startTime: '1', tmpDir: '/tmp/x' } }, NOW);
  assert.equal(r.live, false);
  assert.match(r.live ? '' : r.why, new RegExp(`the runner process ${pid} that started it is gone`));
  const zero = await jobLiveness({ ...sampleState(), runner: { pid: 0, startTime: undefined, tmpDir: '/tmp/x' } }, NOW);
  assert.deepEqual(zero, { live: false, why: 'the runner process 0 that started it is gone' });
});
