// Attacker: a job leaves keys, SysV IPC, lock files and temp files for the next job on its slot, races root's
// cleanup with symlinks to a root-owned file, and fills /tmp; none of it reaches the next job or the host.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse, type JobResult } from '../harness/runner.js';
import { startWorld, isRoot, type World } from './world.js';
import { makeSentinel, type Sentinel } from './sandbox-helpers.js';
import { jobUser, processesOf } from './attacker-helpers.js';

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users, namespaces and nftables rules';
const response = (jobId: number) => buildJobResponse({ jobId, projectId: 5, projectPath: 'group/app', ref: 'main' });

describe('attacker: leftovers for the next job, cleanup racers, a full /tmp (isolation users, slots 1)', { skip: NOT_ROOT }, () => {
  let world: World;
  let sentinel: Sentinel;
  let k1: JobResult;
  let k2: JobResult;
  const racers: JobResult[] = [];

  before(async () => {
    world = await startWorld({ isolation: 'users', slots: 1, driver: 'job_tmp_size = "64M"' });
    sentinel = await makeSentinel(world.dir);
    k1 = await world.job({
      response: response(7901),
      steps: {
        script: [
          'keyctl add user jr-secret s3cret-from-job-1 @u >/dev/null && keyctl search @u user jr-secret >/dev/null && echo key-added',
          'ipcmk -M 4096 && ipcmk -Q && ipcs -m | grep -c "^0x" | sed "s/^/shm-segments: /"',
          'for d in /run/lock /dev/shm /var/tmp /tmp "$HOME"; do echo left > "$d/jr-leftover" && echo "wrote $d"; done',
          // Filling /tmp stops at the job's cap, not at the host's memory.
          'dd if=/dev/zero of=/tmp/big bs=1M count=300 2>&1 | grep -o "No space left on device" | sed "s/^/dd: /" || true',
          'echo "tmp used: $(du -sm /tmp | cut -f1) MB"',
          'set +e; touch /etc/jr-host-write 2>&1; touch /usr/jr-host-write 2>&1; true',
        ],
      },
    });
    k2 = await world.job({
      response: response(7902),
      steps: {
        script: [
          'set +e',
          'if keyctl search @u user jr-secret >/dev/null 2>&1; then echo KEY-FOUND; else echo no-key; fi',
          'echo "shm: $(ipcs -m | grep -c "^0x") queues: $(ipcs -q | grep -c "^0x")"',
          'for d in /run/lock /dev/shm /var/tmp /tmp "$HOME"; do [ -e "$d/jr-leftover" ] && echo "LEFTOVER $d"; done; [ -e /tmp/big ] && echo "LEFTOVER big"',
          'echo k2-checked',
        ],
      },
    });
    // Three jobs in a row race root's cleanup: ~/tmp and a directory being deleted swapped for links to a root file.
    for (const id of [7911, 7912, 7913]) {
      racers.push(
        await world.job({
          response: response(id),
          variables: { SENT_DIR: sentinel.dir, SENT_FILE: sentinel.file },
          steps: {
            script: [
              `setsid nohup bash -c 'while :; do rm -rf ~/tmp; ln -sfn "$SENT_FILE" ~/tmp; rm -f ~/tmp; ln -sfn "$SENT_DIR" ~/tmp; done' >/dev/null 2>&1 &`,
              'R="$CI_PROJECT_DIR/../race"; mkdir -p "$R"',
              `setsid nohup bash -c 'cd "$0"; while :; do mkdir -p d/e; touch d/e/f; chmod 000 d/e; mv -T d/e d/old 2>/dev/null; ln -sfn "$SENT_DIR" d/e; rm -rf d/old; done' "$R" >/dev/null 2>&1 &`,
              'ln -sfn "$SENT_FILE" "$HOME/file-link"; ln -sfn "$SENT_DIR" "$CI_PROJECT_DIR/../dir-link"; ln -sfn "$SENT_FILE" "$R/file-link"',
              'ln "$SENT_FILE" "$HOME/hard" 2>/dev/null || echo "no hard link"',
              'sleep 1; echo racing',
            ],
          },
        }),
      );
    }
  });
  after(() => world?.close());

  test('the first job left a key, SysV IPC, files in every writable place, and its /tmp was capped', async () => {
    assert.equal(k1.status, 'success', k1.jobLog);
    assert.match(k1.jobLog, /^key-added$/m);
    assert.match(k1.jobLog, /^shm-segments: 1$/m);
    for (const d of ['/run/lock', '/dev/shm', '/var/tmp', '/tmp']) assert.match(k1.jobLog, new RegExp(`^wrote ${d}$`, 'm'));
    assert.match(k1.jobLog, /^dd: No space left on device$/m);
    const used = Number(/^tmp used: (\d+) MB$/m.exec(k1.jobLog)?.[1]);
    assert.ok(used > 0 && used <= 66, `the job used ${used} MB in /tmp with a 64M cap`);
    assert.match(k1.jobLog, /touch: cannot touch '\/etc\/jr-host-write': Read-only file system/);
    assert.match(k1.jobLog, /touch: cannot touch '\/usr\/jr-host-write': Read-only file system/);
  });

  test('the next job on the slot finds none of it', () => {
    assert.equal(k2.status, 'success', k2.jobLog);
    assert.match(k2.jobLog, /^no-key$/m);
    assert.match(k2.jobLog, /^shm: 0 queues: 0$/m);
    assert.doesNotMatch(k2.jobLog, /^LEFTOVER/m);
    assert.match(k2.jobLog, /^k2-checked$/m);
  });

  test('racers on ~/tmp and on a directory being deleted leave the root-owned sentinel untouched over three cleanups', async () => {
    for (const r of racers) {
      assert.equal(r.status, 'success', r.jobLog);
      assert.match(r.jobLog, /^racing$/m);
      assert.ok(
        r.stages.filter((s) => s.name === 'cleanup').every((s) => s.exitCode === 0),
        r.runnerLog,
      );
    }
    await sentinel.check();
    assert.deepEqual(await processesOf(jobUser(world, 1).uid), []);
  });
});
