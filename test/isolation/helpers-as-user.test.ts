// Helpers run as a job user get a fixed minimal environment; the uid scan sees threads of a zombie leader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helperEnv, runAsJobUser } from '../../src/isolation/as-job-user.js';
import type { CommandOptions } from '../../src/isolation/command.js';
import { tasksOfUid } from '../../src/isolation/uid-tasks.js';

const user = { name: 'jobrole-job1', uid: 990, gid: 985, home: '/var/lib/jobrole/home/jobrole-job1' };

test("runAsJobUser drops to the user and passes only the helper environment, nothing of the driver's", async () => {
  process.env.CUSTOM_ENV_CI_JOB_TOKEN = 'glcbt-should-not-pass';
  process.env.AWS_SECRET_ACCESS_KEY = 'driver-secret';
  let seen: { file: string; args: readonly string[]; opts: CommandOptions | undefined } | undefined;
  try {
    await runAsJobUser(user, ['keyctl', 'clear', '@u'], async (file, args, opts) => {
      seen = { file, args, opts };
      return { exitCode: 0, stdout: '', stderr: '' };
    });
  } finally {
    delete process.env.CUSTOM_ENV_CI_JOB_TOKEN;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  }
  assert.equal(seen?.file, 'setpriv');
  assert.ok(seen?.args.includes('--reuid=990') && seen.args.includes('--no-new-privs'));
  assert.deepEqual(seen?.args.slice(-3), ['keyctl', 'clear', '@u']);
  assert.deepEqual(Object.keys(seen?.opts?.env ?? {}).sort(), ['HOME', 'LC_ALL', 'LOGNAME', 'PATH', 'USER']);
  assert.deepEqual(seen?.opts?.env, helperEnv(user));
});

test('tasksOfUid finds the live thread of a zombie leader and matches the filesystem uid too', async () => {
  const proc = await mkdtemp(join(tmpdir(), 'jobrole-proc-'));
  try {
    const status = (uids: string, state: string) => `Name:\ta.out\nState:\t${state}\nUid:\t${uids}\n`;
    const task = async (pid: string, tid: string, text: string) => {
      await mkdir(join(proc, pid, 'task', tid), { recursive: true });
      await writeFile(join(proc, pid, 'task', tid, 'status'), text);
    };
    await task('200', '200', status('1500\t1500\t1500\t1500', 'Z (zombie)'));
    await task('200', '201', status('1500\t1500\t1500\t1500', 'S (sleeping)'));
    await task('300', '300', status('0\t0\t0\t1500', 'S (sleeping)'));
    await task('400', '400', status('1501\t1501\t1501\t1501', 'R (running)'));
    const found = await tasksOfUid(1500, proc);
    assert.deepEqual(found.map((t) => `${t.pid}/${t.tid}/${t.state}`).sort(), ['200/200/Z', '200/201/S', '300/300/S']);
    await assert.rejects(tasksOfUid(0, proc), /non-zero uid/);
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
});
