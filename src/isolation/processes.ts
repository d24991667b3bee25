// Finding and ending every process of a job user, including ones it detached (setsid, nohup) or forks meanwhile.

import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { runCommand, type CommandRunner } from './command.js';

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

/** Whether a task's status is live (not a zombie) and has uid as real, effective or saved uid. */
function liveWithUid(status: string, uid: number): boolean {
  const state = /^State:\s+(\S)/m.exec(status)?.[1];
  if (state === 'Z' || state === 'X') return false;
  const ids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
  return ids !== null && ids.slice(1, 4).some((id) => Number(id) === uid);
}

/**
 * Whether the process is live and carries uid. A zombie leader (main thread exited, other threads still
 * running) looks dead in /proc/<pid>/status: its threads in /proc/<pid>/task are looked at too.
 */
async function belongsTo(procRoot: string, pid: string, uid: number): Promise<boolean> {
  const status = await readFile(`${procRoot}/${pid}/status`, 'utf8').catch(() => undefined);
  if (status === undefined) return false;
  if (liveWithUid(status, uid)) return true;
  if (!/^State:\s+[ZX]/m.test(status)) return false;
  const tids = await readdir(`${procRoot}/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tids) {
    if (tid === pid) continue;
    const t = await readFile(`${procRoot}/${pid}/task/${tid}/status`, 'utf8').catch(() => undefined);
    if (t !== undefined && liveWithUid(t, uid)) return true;
  }
  return false;
}

/** Pids of live processes whose real, effective or saved uid is `uid` (never this process). */
export async function listUserProcesses(uid: number, deps: ProcessDeps = {}): Promise<number[]> {
  checkUid(uid);
  const procRoot = deps.procRoot ?? '/proc';
  const pids = (await readdir(procRoot)).filter((n) => /^\d+$/.test(n));
  const mine: number[] = [];
  for (const pid of pids) {
    if (Number(pid) === process.pid || pid === '1') continue;
    if (await belongsTo(procRoot, pid, uid)) mine.push(Number(pid));
  }
  return mine.sort((a, b) => a - b);
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
      if (!(await belongsTo(procRoot, String(pid), uid))) continue;
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
