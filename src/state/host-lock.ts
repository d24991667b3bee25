// One job per instance (instance-profile strategy): an exclusive lock file in the state dir, stale holders taken over.

import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SystemFailure } from '../core/exit-codes.js';

export const HOST_LOCK_FILE = 'host.lock';

export interface HostLockRecord {
  jobKey: string;
  pid: number;
  /** ISO 8601: when the lock was taken. */
  at: string;
}

export interface HostLock {
  readonly record: HostLockRecord;
  /** Removes the lock if this job still holds it. */
  release(): Promise<void>;
}

export interface HostLockDeps {
  /** Whether the job that holds the lock is still running (its state exists, its runner lives). */
  isJobAlive(jobKey: string): Promise<boolean>;
  now?: () => Date;
  pid?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A takeover guard older than this belongs to a process that died mid-takeover. */
const GUARD_STALE_MS = 30_000;

/** The current holder, or undefined when the lock is free. An unreadable lock file reads as a holder named '?'. */
export async function readHostLock(stateDir: string): Promise<HostLockRecord | undefined> {
  return readRecord(join(stateDir, HOST_LOCK_FILE));
}

export async function acquireHostLock(stateDir: string, jobKey: string, deps: HostLockDeps): Promise<HostLock> {
  const path = join(stateDir, HOST_LOCK_FILE);
  const record: HostLockRecord = {
    jobKey,
    pid: deps.pid ?? process.pid,
    at: (deps.now?.() ?? new Date()).toISOString(),
  };
  const lock: HostLock = { record, release: async () => void (await releaseHostLock(stateDir, jobKey)) };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await createExclusive(path, record)) return lock;
    const holder = await readRecord(path);
    if (holder === undefined) continue; // released between our attempts
    if (holder.jobKey === jobKey) return lock;
    if (holder.jobKey !== '?' && (await deps.isJobAlive(holder.jobKey))) {
      throw new SystemFailure(
        `this host runs one instance-profile job at a time and job ${holder.jobKey} (driver pid ${holder.pid}) ` +
          `holds it since ${holder.at}; retry when it has finished`,
      );
    }
    if (!(await removeStale(path, holder))) await sleep(10 + Math.floor(Math.random() * 20));
  }
  throw new SystemFailure(`could not take the host lock ${path}: it keeps changing hands`);
}

/** Removes the lock when `jobKey` holds it (cleanup runs in another process than prepare). Returns whether it did. */
export async function releaseHostLock(stateDir: string, jobKey: string): Promise<boolean> {
  const path = join(stateDir, HOST_LOCK_FILE);
  const holder = await readRecord(path);
  if (holder?.jobKey !== jobKey) return false;
  return removeIfStill(path, holder);
}

/** Writes the whole record to a private temp file, then links it into place: the lock never exists half-written. */
async function createExclusive(path: string, record: HostLockRecord): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(record) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path); // fails with EEXIST like O_EXCL, atomically
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/**
 * Removes a lock judged stale, under an exclusive takeover guard: while we hold the guard and the lock still
 * holds the stale record, nobody else can change it (its owner is gone, other takers wait for the guard, and
 * new acquirers only link when it is absent). Returns false when another process is taking over.
 */
async function removeStale(path: string, stale: HostLockRecord): Promise<boolean> {
  const guard = `${path}.takeover`;
  try {
    await (await open(guard, 'wx', 0o600)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const st = await stat(guard).catch(() => undefined);
    if (st !== undefined && Date.now() - st.mtimeMs > GUARD_STALE_MS) await unlink(guard).catch(() => {});
    return false;
  }
  try {
    const current = await readRecord(path);
    if (current !== undefined && sameRecord(current, stale)) {
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    return true;
  } finally {
    await unlink(guard).catch(() => {});
  }
}

/** Moves the lock aside atomically and deletes it; if what we moved is not the record we expected, puts it back. */
async function removeIfStill(path: string, expected: HostLockRecord): Promise<boolean> {
  const aside = `${path}.${randomBytes(6).toString('hex')}.old`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // someone else got there first
    throw err;
  }
  const moved = await readRecord(aside);
  if (moved !== undefined && !sameRecord(moved, expected)) {
    // It changed hands between our read and the rename: give it back (unless yet another holder appeared).
    await link(aside, path).catch(() => {});
    await unlink(aside).catch(() => {});
    return false;
  }
  await unlink(aside).catch(() => {});
  return true;
}

function sameRecord(a: HostLockRecord, b: HostLockRecord): boolean {
  return a.jobKey === b.jobKey && a.pid === b.pid && a.at === b.at;
}

async function readRecord(path: string): Promise<HostLockRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<HostLockRecord>;
    if (typeof v.jobKey === 'string' && typeof v.pid === 'number' && typeof v.at === 'string') {
      return { jobKey: v.jobKey, pid: v.pid, at: v.at };
    }
  } catch {
    // fall through: written by something else or damaged
  }
  return { jobKey: '?', pid: 0, at: '?' };
}
