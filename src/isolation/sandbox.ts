// A job's sandbox: an init in new PID, mount, IPC and UTS namespaces, started by prepare and ended at cleanup.

import { spawn } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { readProcStat } from '../core/process-identity.js';
import type { SandboxRecord } from '../state/types.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';
import { sandboxSetupScript, writableMountPoints, type SandboxMounts } from './sandbox-script.js';
import { isRecordedInit } from './sandbox-init.js';
import { createJobCgroup, detectCgroup2, joinCgroup, killAndRemoveCgroup, type JobLimits } from './cgroup.js';

/** The process title of every sandbox's init (its $0), so an operator can tell them in `ps`. */
const SANDBOX_INIT_NAME = 'jobrole-sandbox';

/**
 * The init: a shell that waits forever. Its `wait` reaps every child it is given, including the orphans
 * the kernel re-parents to a PID namespace's init, so nothing piles up as zombies while the job runs.
 */
const INIT_LOOP = 'trap "" HUP INT TERM QUIT; while :; do sleep 86400 & wait; done';

export const UNSHARE_ARGS = ['--pid', '--mount', '--ipc', '--uts', '--fork', '--mount-proc', '--propagation', 'private', '--kill-child'];

export interface StartOptions {
  mounts: Omit<SandboxMounts, 'readOnly'>;
  /** Name of the job's cgroup (the job key); undefined = no cgroup. */
  cgroupName?: string;
  limits: JobLimits;
  /** Called as soon as the init runs, before it is set up: record it so a failure later is still cleaned up. */
  onStarted: (record: SandboxRecord) => Promise<void>;
  run?: CommandRunner;
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => undefined);
  if (text !== undefined)
    return text
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  // Kernels without CONFIG_PROC_CHILDREN: scan for the parent pid.
  const { readdir } = await import('node:fs/promises');
  const out: number[] = [];
  for (const p of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const st = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const ppid = st.slice(st.lastIndexOf(')') + 2).split(' ')[1];
    if (Number(ppid) === pid) out.push(Number(p));
  }
  return out;
}

/** Waits for unshare's child to become the init (exec done, /proc of its namespace mounted). */
async function waitForInit(unsharePid: number, unshareExe: string, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [child] = await childrenOf(unsharePid);
    if (child !== undefined) {
      const exe = await readlink(`/proc/${child}/exe`).catch(() => unshareExe);
      const status = await readFile(`/proc/${child}/status`, 'utf8').catch(() => '');
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      if (exe !== unshareExe && nspid.length >= 2 && nspid[nspid.length - 1] === '1') return child;
    }
    if (Date.now() > until) throw new Error(`the sandbox init (unshare pid ${unsharePid}) did not start within ${timeoutMs} ms`);
    await delay(2);
  }
}

/** Starts the init (detached: it lives on after prepare exits), puts it in the job's cgroup, builds its mounts. */
export async function startSandbox(opts: StartOptions): Promise<SandboxRecord> {
  const run = opts.run ?? runCommand;
  const cg = opts.cgroupName === undefined ? undefined : await detectCgroup2();
  const child = spawn('unshare', [...UNSHARE_ARGS, '--', '/bin/sh', '-c', INIT_LOOP, SANDBOX_INIT_NAME], {
    detached: true,
    stdio: 'ignore',
    cwd: '/',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const spawned = new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', (e) => reject(new Error(`cannot start the job sandbox (unshare from util-linux): ${e.message}`)));
  });
  const unsharePid = await spawned;
  child.unref();
  const exited = new Promise<string>((resolve) => child.once('exit', (code, sig) => resolve(`unshare exited (${sig ?? code})`)));
  const unshareExe = await readlink(`/proc/${unsharePid}/exe`).catch(() => '/usr/bin/unshare');
  const initPid = await Promise.race([
    waitForInit(unsharePid, unshareExe, 5000),
    exited.then((why) => {
      throw new Error(`the sandbox did not start: ${why}; does this kernel allow PID and mount namespaces?`);
    }),
  ]);
  const startTime = (await readProcStat(initPid))?.startTime;
  let record: SandboxRecord = { initPid, startTime };
  await opts.onStarted(record);
  if (cg !== undefined && opts.cgroupName !== undefined) {
    const dir = await createJobCgroup(cg, opts.cgroupName, opts.limits);
    record = { ...record, cgroup: dir };
    await opts.onStarted(record);
    await joinCgroup(dir, initPid);
  }
  const mountinfo = await readFile(`/proc/${initPid}/mountinfo`, 'utf8');
  const script = sandboxSetupScript({ ...opts.mounts, readOnly: writableMountPoints(mountinfo) });
  const args = ['-t', String(initPid), '-p', '-m', '--', '/bin/sh', '-s'];
  const r = await run('nsenter', args, { input: script, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  if (r.exitCode !== 0) throw new Error(`setting up the job's mount namespace: ${describeFailure('nsenter', args, r)}`);
  return record;
}

/** Whether the recorded init is still that process (same start time), so a recycled pid is never signalled. */
async function isOurInit(record: SandboxRecord): Promise<boolean> {
  return isRecordedInit(record, await readProcStat(record.initPid));
}

/**
 * Ends the sandbox: SIGKILL to its init, upon which the kernel SIGKILLs every process of its PID namespace,
 * however it forked or detached; then cgroup.kill for anything in the job's cgroup (a run stage that joined
 * it). Waits until the init is gone.
 */
export async function stopSandbox(record: SandboxRecord, timeoutMs = 10_000): Promise<'stopped' | 'not-running'> {
  let outcome: 'stopped' | 'not-running' = 'not-running';
  if (await isOurInit(record)) {
    outcome = 'stopped';
    try {
      process.kill(record.initPid, 'SIGKILL');
    } catch {
      // already gone
    }
    const until = Date.now() + timeoutMs;
    while (await isOurInit(record)) {
      if (Date.now() > until) throw new Error(`the sandbox init ${record.initPid} did not exit within ${timeoutMs} ms of SIGKILL`);
      await delay(10);
    }
  }
  if (record.cgroup !== undefined) await killAndRemoveCgroup(record.cgroup, timeoutMs);
  return outcome;
}
