// A job in its sandbox: what one stage starts or writes lives on into its later stages, and is gone for the next job.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, isRoot, type World } from './world.js';
import { jobUser, peekJobStates } from './attacker-helpers.js';
import { tasksOfUid } from '../../src/isolation/uid-tasks.js';

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users, namespaces and nftables rules';
const response = (jobId: number) => buildJobResponse({ jobId, projectId: 5, projectPath: 'group/app', ref: 'main' });

describe('a job in its sandbox (isolation users, slots 1)', { skip: NOT_ROOT }, () => {
  let world: World;
  before(async () => {
    world = await startWorld({ isolation: 'users', slots: 1 });
  });
  after(() => world?.close());

  test('a background process and temp files of one stage live into the later stages of the same job, not the next job', async () => {
    const uid = jobUser(world, 1).uid;
    let sleepsDuring: number[] = [];
    const r = await world.job({
      response: response(8501),
      onStage: async (name, phase) => {
        if (name === 'after_script' && phase === 'end') sleepsDuring = (await tasksOfUid(uid)).filter((t) => t.name === 'sleep').map((t) => t.pid);
      },
      steps: {
        script: ['sleep 300 >/dev/null 2>&1 & echo $! > /tmp/bg-pid; echo kept > /dev/shm/kept; echo "pid1 is $(cat /proc/1/comm)"'],
        afterScript: ['kill -0 "$(cat /tmp/bg-pid)" && echo "background alive in after_script"', 'cat /dev/shm/kept'],
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(r.jobLog, /^pid1 is sh$/m, 'the job is not in its own PID namespace');
    assert.match(r.jobLog, /^background alive in after_script$/m);
    assert.match(r.jobLog, /^kept$/m);
    // Seen from the host (the next job's PID namespace could not see it either way): the background sleep ran
    // through after_script and nothing of the slot's user is left once the job's cleanup is done.
    assert.equal(sleepsDuring.length, 1, 'the background sleep was not seen from the host while the job ran');
    assert.deepEqual(await tasksOfUid(uid), [], "a task of the slot's user outlived the job's cleanup");
    const next = await world.job({
      response: response(8502),
      steps: { script: ['set +e', 'ls /tmp/bg-pid /dev/shm/kept 2>&1 | sed "s/^/next: /"; pgrep -x -u "$(id -u)" sleep || echo "no sleep"'] },
    });
    assert.equal(next.status, 'success', next.jobLog);
    assert.match(next.jobLog, /^next: ls: cannot access '\/tmp\/bg-pid': No such file or directory$/m);
    assert.match(next.jobLog, /^next: ls: cannot access '\/dev\/shm\/kept': No such file or directory$/m);
    assert.match(next.jobLog, /^no sleep$/m);
  });

  test('a run stage whose sandbox is gone fails as a system failure saying so, and cleanup still scrubs', async () => {
    let killed = false;
    const r = await world.job({
      response: response(8503),
      onStage: async (name, phase) => {
        if (name !== 'get_sources' || phase !== 'end') return;
        const s = (await peekJobStates(world)).find((j) => j.jobId === 8503);
        if (s?.initPid !== undefined) {
          process.kill(s.initPid, 'SIGKILL');
          killed = true;
        }
      },
      steps: { script: ['echo should-not-run'] },
    });
    assert.ok(killed, 'the test did not find the sandbox');
    assert.notEqual(r.status, 'success');
    assert.match(r.jobLog, /the sandbox of job 8503 \(init pid \d+\) is gone/);
    assert.doesNotMatch(r.jobLog, /^should-not-run$/m);
    assert.ok(
      r.stages.filter((st) => st.name === 'cleanup').every((st) => st.exitCode === 0),
      r.runnerLog,
    );
  });
});
