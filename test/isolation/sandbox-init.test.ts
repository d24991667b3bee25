// The one check of whether a recorded sandbox init is still that process: the run stage and stopSandbox agree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readProcessStartTime } from '../../src/core/process-identity.js';
import { sandboxAlive } from '../../src/isolation/job-signal.js';
import { stopSandbox } from '../../src/isolation/sandbox.js';
import { isRecordedInit } from '../../src/isolation/sandbox-init.js';

test('a record without a start time is not taken for the init: the run stage calls it gone and stopSandbox leaves the pid alone', async (t) => {
  const init = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => {
    init.kill('SIGKILL');
  });
  await new Promise((r) => init.once('spawn', r));
  const initPid = init.pid as number;
  const startTime = await readProcessStartTime(initPid);
  assert.ok(startTime !== undefined);
  assert.equal(sandboxAlive({ initPid, startTime: undefined }), false);
  assert.equal(await stopSandbox({ initPid, startTime: undefined }), 'not-running');
  assert.equal(init.exitCode ?? init.signalCode, null, 'the process was not signalled');
  // Another start time (a recycled pid) is not it either; the recorded one is.
  assert.equal(sandboxAlive({ initPid, startTime: String(Number(startTime) + 1) }), false);
  assert.equal(sandboxAlive({ initPid, startTime }), true);
  assert.equal(await stopSandbox({ initPid, startTime }), 'stopped');
  assert.equal(sandboxAlive({ initPid, startTime }), false);
});

test('a zombie or a gone process is never the init', () => {
  assert.equal(isRecordedInit({ startTime: '5' }, { state: 'Z', startTime: '5' }), false);
  assert.equal(isRecordedInit({ startTime: '5' }, undefined), false);
  assert.equal(isRecordedInit({ startTime: '5' }, { state: 'S', startTime: '5' }), true);
});
