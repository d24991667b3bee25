// Finding and ending every process of a job user, including ones it detached (setsid, nohup) or forks meanwhile.

import { setTimeout as delay } from 'node:timers/promises';
import { runCommand, type CommandRunner } from './command.js';
import { isLiveTask, tasksOfPid, tasksOfUid } from './uid-tasks.js';

export interface ProcessDeps {
  /** Where to read processes from (default /proc). */
  procRoot?: string;
}

export interface KillOptions extends ProcessDeps {
  /** How long SIGTERMed processes get to exit before they are killed. */
  graceMs: number;
  /** SIGKILL rounds before giving up on a process that keeps forking (default 10). */
  maxRounds?: number;
  /** Group the in-user `kill -1` helper runs with (default 65534, nogroup); signals only look at uids. */
  helperGid?: number;
  run?: CommandRunner;
  /** Sends a signal; default process.kill. */
  signal?: (pid: number, sig: NodeJS.Signals) => void;
}

function checkUid(uid: number): void {
  if (!Number.isInteger(uid) || uid < 0) throw new Error(`invalid uid ${String(uid)}`);
  if (uid === 0) throw new Error('refusing to end the processes of uid 0 (root)');
}

/**
 * Whether the process has a live task (thread) carrying uid, as tasksOfUid sees it: a zombie leader whose
 * other threads still run counts, a zombie process does not.
 */
async function belongsTo(procRoot: string, pid: number, uid: number): Promise<boolean> {
  return (await tasksOfPid(uid, pid, procRoot)).some(isLiveTask);
}

/**
 * Pids of live processes with a task whose real, effective, saved or filesystem uid is `uid` (never this
 * process nor pid 1): the live part of what tasksOfUid finds, so the check after a kill looks at what was killed.
 */
export async function listUserProcesses(uid: number, deps: ProcessDeps = {}): Promise<number[]> {
  checkUid(uid);
  const tasks = (await tasksOfUid(uid, deps.procRoot ?? '/proc')).filter(isLiveTask);
  const mine = new Set(tasks.map((t) => t.pid).filter((pid) => pid !== process.pid && pid !== 1));
  return [...mine].sort((a, b) => a - b);
}

/**
 * Ends every process of `uid`: SIGTERM, up to graceMs to exit, then rounds of SIGSTOP (so nothing forks)
 * + SIGKILL until none is left or maxRounds pass. Each round also runs `kill -KILL -1` as the user itself,
 * which the kernel applies to all of the uid's processes at once, so a fork loop cannot outrun it. This is
 * the fallback for processes outside a sandbox; a sandboxed job is ended by killing its PID namespace's init.
 * Refuses uid 0; never signals a process that does not carry `uid`.
 */
export async function killUserProcesses(uid: number, opts: KillOptions): Promise<{ killed: number; remaining: number[] }> {
  checkUid(uid);
  const procRoot = opts.procRoot ?? '/proc';
  const run = opts.run ?? runCommand;
  const send = opts.signal ?? ((pid: number, sig: NodeJS.Signals) => process.kill(pid, sig));
  const seen = new Set<number>();
  const list = async () => {
    const pids = await listUserProcesses(uid, { procRoot });
    for (const p of pids) seen.add(p);
    return pids;
  };
  const signalAll = async (pids: number[], sig: NodeJS.Signals) => {
    for (const pid of pids) {
      // Re-check right before signalling: a pid that exited may have been reused by someone else.
      if (!(await belongsTo(procRoot, pid, uid))) continue;
      try {
        send(pid, sig);
      } catch {
        // already gone
      }
    }
  };

  let pids = await list();
  if (pids.length === 0) return { killed: 0, remaining: [] };
  await signalAll(pids, 'SIGTERM');
  const graceEnd = Date.now() + Math.max(0, opts.graceMs);
  while (pids.length > 0 && Date.now() < graceEnd) {
    await delay(Math.min(50, Math.max(1, graceEnd - Date.now())));
    pids = await list();
  }
  const rounds = opts.maxRounds ?? 10;
  for (let round = 0; round < rounds && pids.length > 0; round++) {
    await signalAll(pids, 'SIGSTOP');
    // The shell's own kill: procps' /usr/bin/kill takes "-1" for an option and silently does nothing.
    await run('setpriv', [`--reuid=${uid}`, `--regid=${opts.helperGid ?? 65534}`, '--clear-groups', '--', '/bin/sh', '-c', 'kill -KILL -1'], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    });
    await signalAll(await list(), 'SIGKILL');
    await delay(20 * (round + 1));
    pids = await list();
  }
  return { killed: [...seen].filter((p) => !pids.includes(p)).length, remaining: pids };
}
