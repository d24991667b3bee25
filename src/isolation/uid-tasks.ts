// Every task (thread included) whose real, effective, saved or filesystem uid is a job user's, anywhere on the host.

import { readdir, readFile } from 'node:fs/promises';

export interface UidTask {
  /** Thread-group id (the process). */
  pid: number;
  /** Thread id; equals pid for the main thread. */
  tid: number;
  state: string;
  name: string;
}

function checkUid(uid: number): void {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing to scan for uid ${String(uid)}: job users have a non-zero uid`);
}

const numeric = (names: string[]) => names.filter((n) => /^\d+$/.test(n));

/**
 * Scans /proc/<pid>/task/<tid>/status, not only /proc/<pid>/status: a process whose main thread exited
 * (a zombie leader) still runs its other threads and shows as a zombie at the process level. Zombie
 * *processes* with no live thread are reported too (state Z): they hold a pid of the uid until reaped.
 */
export async function tasksOfUid(uid: number, procRoot = '/proc'): Promise<UidTask[]> {
  checkUid(uid);
  const out: UidTask[] = [];
  for (const pid of numeric(await readdir(procRoot))) out.push(...(await tasksOfPid(uid, Number(pid), procRoot)));
  return out;
}

/** The tasks of one process that carry uid (none if it is gone): tasksOfUid for a single pid. */
export async function tasksOfPid(uid: number, pid: number, procRoot = '/proc'): Promise<UidTask[]> {
  checkUid(uid);
  const out: UidTask[] = [];
  const tids = await readdir(`${procRoot}/${pid}/task`).then(numeric, () => [] as string[]);
  for (const tid of tids) {
    const status = await readFile(`${procRoot}/${pid}/task/${tid}/status`, 'utf8').catch(() => undefined);
    if (status === undefined) continue;
    const ids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
    if (ids === null || !ids.slice(1, 5).some((id) => Number(id) === uid)) continue;
    out.push({
      pid,
      tid: Number(tid),
      state: /^State:\s+(\S)/m.exec(status)?.[1] ?? '?',
      name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
    });
  }
  return out;
}

/** Whether a task can still run (a zombie or dead task holds only its pid). */
export const isLiveTask = (t: UidTask): boolean => t.state !== 'Z' && t.state !== 'X';

/** "pid 123 (sleep, S), pid 456 thread 457 (a.out, R)" for error messages; at most `max` entries. */
export function describeTasks(tasks: UidTask[], max = 8): string {
  const shown = tasks.slice(0, max).map((t) => `pid ${t.pid}${t.tid === t.pid ? '' : ` thread ${t.tid}`} (${t.name}, ${t.state})`);
  return tasks.length > max ? `${shown.join(', ')} and ${tasks.length - max} more` : shown.join(', ');
}
