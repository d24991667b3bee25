// End to end: how long the metadata service takes to serve the job's role decides prepare's time, and a
// propagation slower than [instance_profile].propagation_timeout fails prepare cleanly, host restored.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { World } from './world.js';
import { DEBIAN_AWS } from './world.js';
import { JOB_ASSUMED, assertHostClean, assertOnBaseline, changingCalls, ipJob, plain, stages, startIpWorld } from './instance-profile-helpers.js';

describe('instance-profile: propagation slower than the timeout', () => {
  let world: World;
  before(async () => {
    // The schema's smallest propagation_timeout is 5 s; IMDS needs 6 s to follow each change.
    world = await startIpWorld({ propagationMs: 6000, timeoutSeconds: 5 });
  });
  after(() => world.close());

  test('prepare restores the host profile and fails as a system failure, retried by the runner; the job never runs', async () => {
    const r = await ipJob(world);
    const log = plain(r.jobLog);
    assert.equal(r.status, 'system_failure', r.jobLog);
    assert.equal(r.prepareAttempts, 3);
    assert.equal(stages(r, 'prepare').length, 3);
    assert.equal(stages(r, 'build_script').length, 0, 'the job script ran');
    // Each attempt said why and that it put the host profile back.
    const timeouts = log.match(/the metadata service did not serve role legacy-deploy within 5 s/g) ?? [];
    assert.equal(timeouts.length >= 3, true, `expected a timeout per attempt:\n${log}`);
    assert.equal((log.match(/swap failed \(.*\); restoring the instance's profile/g) ?? []).length, 3);
    assert.match(log, /jobrole: system failure: instance-profile strategy for role legacy-deploy: attaching profile .* \(the baseline profile was restored\)/);
    // The late swap of each attempt was waited out before the next attempt started.
    assert.equal((log.match(/the metadata service serves jobrole-host again/g) ?? []).length, 3, log);
    // Three swaps, each undone: no attempt found the previous one's role still on its way.
    const actions = changingCalls(world).map((c) => c.action);
    assert.deepEqual(actions, Array(6).fill('ReplaceIamInstanceProfileAssociation'));
    await assertOnBaseline(world, 'after three timed-out attempts');
    await assertHostClean(world);
  });
});

describe('instance-profile: time from prepare start to credentials usable in the job', () => {
  let world: World;
  before(async () => {
    world = await startIpWorld({ propagationMs: 200, timeoutSeconds: 10 });
  });
  after(() => world.close());

  test('at IMDS propagation delays of 0.2 s, 1 s and 3 s', async () => {
    const rows: Array<{ delayMs: number; prepareMs: number; confirmS: number; usableMs: number }> = [];
    for (const delayMs of [200, 1000, 3000]) {
      world.emu.imdsPropagationMs = delayMs;
      let prepareStart = 0;
      const r = await ipJob(world, {
        script: [`echo "awscli $(${DEBIAN_AWS} sts get-caller-identity --endpoint-url "$EMU" --query Arn --output text)"`, 'echo "usable at $(date +%s%3N)"'],
        onStage: (name, phase) => {
          if (name === 'prepare' && phase === 'start') prepareStart = Date.now();
        },
      });
      const log = plain(r.jobLog);
      assert.equal(r.status, 'success', r.jobLog);
      assert.match(log, new RegExp(`^awscli ${JOB_ASSUMED.source.slice(1)}`, 'm'));
      const prepareMs = stages(r, 'prepare')[0]?.durationMs ?? NaN;
      const confirmS = Number(/confirmed arn:\S+ after (\d+\.\d) s/.exec(log)?.[1] ?? NaN);
      const usableAt = Number(/^usable at (\d+)$/m.exec(log)?.[1] ?? NaN);
      rows.push({ delayMs, prepareMs, confirmS, usableMs: usableAt - prepareStart });
      // Prepare waits at least the propagation delay, and not much beyond it (poll interval 100 ms + process start-up).
      assert.ok(confirmS * 1000 >= delayMs - 150, `confirmed after ${confirmS} s with a ${delayMs} ms delay`);
      assert.ok(prepareMs < delayMs + 4000, `prepare took ${prepareMs} ms with a ${delayMs} ms delay`);
      await assertOnBaseline(world, `after the ${delayMs} ms job`);
    }
    await assertHostClean(world);
    console.log(
      'instance-profile timing (IMDS delay → prepare stage duration / wait inside prepare until STS confirmed / prepare start → first awscli call done in the job):',
    );
    for (const row of rows) {
      console.log(
        `  delay ${(row.delayMs / 1000).toFixed(1)} s → prepare ${row.prepareMs} ms, confirmed after ${row.confirmS.toFixed(1)} s, usable in job after ${row.usableMs} ms`,
      );
    }
  });
});
