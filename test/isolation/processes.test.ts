// Ending a job user's processes: detached and forking ones included, nobody else's ever touched.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { killUserProcesses, listUserProcesses } from '../../src/isolation/processes.js';
import { tasksOfUid } from '../../src/isolation/uid-tasks.js';
import { dropPrivilegeArgs } from '../../src/isolation/run-as.js';
import { ensureJobUsers } from '../../src/isolation/users.js';
import type { JobUser } from '../../src/state/types.js';
import { openTempDir, removeDir, removeUsers, skipReason } from './helpers.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A fake /proc/<pid>: status (the leader's) and task/<tid>/status for each thread. */
async function writeProc(proc: string, pid: string, threads: Record<string, string>): Promise<void> {
  await mkdir(join(proc, pid));
  await writeFile(join(proc, pid, 'status'), threads[pid] ?? '');
  for (const [tid, text] of Object.entries(threads)) {
    await mkdir(join(proc, pid, 'task', tid), { recursive: true });
    await writeFile(join(proc, pid, 'task', tid, 'status'), text);
  }
}

describe('process lookup on a fake /proc', () => {
  let proc: string | undefined;
  const status = (uids: string, state = 'S (sleeping)') => `Name:\tx\nState:\t${state}\nUid:\t${uids}\nGid:\t0\t0\t0\t0\n`;
  before(async () => {
    proc = await openTempDir('proc');
    const entries: Record<string, string> = {
      '101': status('1500\t1500\t1500\t1500'),
      '102': status('0\t1500\t0\t1500'), // effective only
      '103': status('0\t0\t1500\t0'), // saved only
      '104': status('1500\t1500\t1500\t1500', 'Z (zombie)'),
      '105': status('0\t0\t0\t0'),
      '106': status('1501\t1501\t1501\t1501'),
    };
    for (const [pid, text] of Object.entries(entries)) await writeProc(proc, pid, { [pid]: text });
    await mkdir(join(proc, 'self'));
  });
  after(() => removeDir(proc));

  test('matches real, effective or saved uid and skips zombies', async () => {
    assert.deepEqual(await listUserProcesses(1500, { procRoot: proc! }), [101, 102, 103]);
  });

  test('signals only the uid asked for, and refuses uid 0', async () => {
    const sent: [number, string][] = [];
    const helper: string[][] = [];
    const r = await killUserProcesses(1500, {
      procRoot: proc!,
      graceMs: 0,
      maxRounds: 2,
      signal: (pid, sig) => void sent.push([pid, sig]),
      run: async (file, args) => {
        helper.push([file, ...args]);
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    });
    assert.deepEqual([...new Set(sent.map(([p]) => p))].sort(), [101, 102, 103]);
    assert.deepEqual(r.remaining, [101, 102, 103], 'fake processes do not die');
    assert.ok(helper.length > 0 && helper.every((a) => a.includes('--reuid=1500') && a.at(-1) === 'kill -KILL -1'));
    await assert.rejects(killUserProcesses(0, { procRoot: proc!, graceMs: 0 }), /refusing .* uid 0/);
    await assert.rejects(listUserProcesses(0, { procRoot: proc! }), /uid 0/);
  });
});

test('ends what the check after it looks for: a filesystem-uid-only task and a zombie leader with a live thread', async (t) => {
  const proc = await openTempDir('proc');
  t.after(() => removeDir(proc));
  const status = (uids: string, state = 'S (sleeping)') => `Name:\tx\nState:\t${state}\nUid:\t${uids}\nGid:\t0\t0\t0\t0\n`;
  await writeProc(proc, '201', { '201': status('0\t0\t0\t1500') }); // filesystem uid only (setfsuid)
  await writeProc(proc, '202', { '202': status('1500\t1500\t1500\t1500', 'Z (zombie)'), '203': status('1500\t1500\t1500\t1500') });
  await writeProc(proc, '204', { '204': status('1500\t1500\t1500\t1500', 'Z (zombie)') }); // holds only its pid
  const remaining = (await tasksOfUid(1500, proc)).filter((x) => x.state !== 'Z').map((x) => x.pid);
  assert.deepEqual([...new Set(remaining)], [201, 202]);
  assert.deepEqual(await listUserProcesses(1500, { procRoot: proc }), [201, 202]);
  const sent = new Set<number>();
  await killUserProcesses(1500, {
    procRoot: proc,
    graceMs: 0,
    maxRounds: 1,
    signal: (pid) => void sent.add(pid),
    run: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
  });
  assert.deepEqual([...sent].sort(), [201, 202]);
});

describe('killUserProcesses on this host', async () => {
  const reason = await skipReason(['useradd', 'setpriv', 'setsid', 'nohup', 'sleep']);
  const prefix = `jrt${process.pid}p`;
  let root: string | undefined;
  let user: JobUser | undefined;
  const children: ChildProcess[] = [];

  before(async () => {
    if (reason !== undefined) return;
    root = await openTempDir('procs');
    [user] = await ensureJobUsers({ prefix, slots: 1, homeRoot: join(root, 'homes') });
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (reason !== undefined) return;
    await removeUsers([`${prefix}1`]);
    await removeDir(root);
  });

  test("leaves none of a job's processes, detached and forking ones included; root's sleep untouched", { skip: reason ?? false }, async () => {
    assert.ok(user !== undefined);
    const rootSleep = spawn('sleep', ['9999'], { stdio: 'ignore' });
    children.push(rootSleep);
    const job = [
      'sleep 9999 &',
      'setsid nohup sleep 9999 >/dev/null 2>&1 &',
      'bash -c \'trap "" TERM; while :; do sleep 9999 & sleep 0.02; done\' >/dev/null 2>&1 &', // ignores SIGTERM, keeps forking
      'wait',
    ].join('\n');
    const jobShell = spawn('setpriv', [...dropPrivilegeArgs(user.uid, user.gid), 'bash', '-c', job], { stdio: 'ignore', detached: true, cwd: '/' });
    children.push(jobShell);
    let before: number[] = [];
    for (let i = 0; i < 50 && before.length < 6; i++) {
      await delay(50);
      before = await listUserProcesses(user.uid);
    }
    assert.ok(before.length >= 6, `job processes started: ${before.join(' ')}`);

    const r = await killUserProcesses(user.uid, { graceMs: 300 });
    assert.deepEqual(r.remaining, []);
    assert.ok(r.killed >= before.length, `killed ${r.killed}`);
    await delay(100);
    assert.deepEqual(await listUserProcesses(user.uid), [], 'nothing came back');
    assert.ok(alive(rootSleep.pid!), "root's sleep still runs");
    assert.ok(alive(process.pid));
  });
});
