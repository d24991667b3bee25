// Tells our broker from a recycled pid (/proc/PID/stat start time) and stops it: SIGTERM, grace, SIGKILL.

import { readFile } from 'node:fs/promises';

export interface ProcStat {
  state: string;
  startTime: string;
}

/** State (field 3) and start time in clock ticks since boot (field 22) of /proc/PID/stat; undefined if gone. */
export async function readProcStat(pid: number, procRoot = '/proc'): Promise<ProcStat | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** State and start time from the text of a /proc/PID/stat. */
export function parseProcStat(text: string): ProcStat | undefined {
  // comm (field 2) is in parentheses and may itself contain ") ": split after the last one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  return state === undefined || startTime === undefined ? undefined : { state, startTime };
}

export async function readProcessStartTime(pid: number, procRoot = '/proc'): Promise<string | undefined> {
  return (await readProcStat(pid, procRoot))?.startTime;
}

/** The broker names itself this (process.title): the fallback proof of identity when no start time was recorded. */
export const BROKER_TITLE = 'jobrole-broker';

export interface StopOptions {
  graceMs: number;
  procRoot?: string;
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function isOurs(record: { pid: number; startTime: string | undefined }, procRoot: string): Promise<boolean> {
  const st = await readProcStat(record.pid, procRoot);
  if (st === undefined || st.state === 'Z' || st.state === 'X') return false;
  if (record.startTime !== undefined) return st.startTime === record.startTime;
  const cmdline = await readFile(`${procRoot}/${record.pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.startsWith(BROKER_TITLE);
}

/**
 * Stops the broker described by `record`, never a process that merely reuses its pid: the start time must
 * match (or, with none recorded, the process must carry the broker's title). SIGTERM, wait up to graceMs,
 * then SIGKILL.
 */
export async function stopBroker(record: { pid: number; startTime: string | undefined }, opts: StopOptions): Promise<'stopped' | 'not-running'> {
  const procRoot = opts.procRoot ?? '/proc';
  const kill = opts.kill ?? ((pid, sig) => process.kill(pid, sig));
  const sleep = opts.sleep ?? defaultSleep;
  if (!(await isOurs(record, procRoot))) return 'not-running';
  const signal = (sig: NodeJS.Signals): void => {
    try {
      kill(record.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  const waitGone = async (ms: number): Promise<boolean> => {
    for (let waited = 0; ; waited += 20) {
      if (!(await isOurs(record, procRoot))) return true;
      if (waited >= ms) return false;
      await sleep(20);
    }
  };
  signal('SIGTERM');
  if (await waitGone(opts.graceMs)) return 'stopped';
  signal('SIGKILL');
  if (await waitGone(5000)) return 'stopped';
  throw new Error(`broker pid ${record.pid} survived SIGKILL for 5 s`);
}
