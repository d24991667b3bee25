// Who is scrubbing a job or a slot: an exclusive owner file (pid + start time) so two scrubbers never work on one.

import { constants } from 'node:fs';
import { mkdir, open, readFile, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readProcessStartTime } from '../core/process-identity.js';
import { jobDir, type StateLayout } from './job-store.js';

export interface ScrubOwner {
  pid: number;
  startTime: string | undefined;
}

export async function currentOwner(): Promise<ScrubOwner> {
  return { pid: process.pid, startTime: await readProcessStartTime(process.pid) };
}

/** Whether that process still runs (same pid and start time). */
async function ownerAlive(owner: ScrubOwner): Promise<boolean> {
  const start = await readProcessStartTime(owner.pid);
  return start !== undefined && (owner.startTime === undefined || start === owner.startTime);
}

async function create(path: string, owner: ScrubOwner): Promise<boolean> {
  try {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    await fh.writeFile(JSON.stringify(owner));
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function read(path: string): Promise<ScrubOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ScrubOwner;
  } catch {
    return undefined;
  }
}

export type OwnerClaim = { ok: true } | { ok: false; owner: ScrubOwner };

/**
 * Takes the exclusive owner file at `path` (O_EXCL: pid + start time), or returns the live process that
 * holds it. A dead owner's claim is replaced under an exclusive guard directory (`guard`), so two processes
 * never both take it over. A missing parent directory throws ENOENT.
 */
export async function claimOwnerFile(path: string, guard = `${path}.guard`): Promise<OwnerClaim> {
  const me = await currentOwner();
  if (await create(path, me)) return { ok: true };
  const held = await read(path);
  if (held !== undefined && held.pid !== me.pid && (await ownerAlive(held))) return { ok: false, owner: held };
  if (held !== undefined && held.pid === me.pid) return { ok: true };
  try {
    await mkdir(guard, { mode: 0o700 });
  } catch {
    return { ok: false, owner: held ?? { pid: 0, startTime: undefined } };
  }
  try {
    const again = await read(path);
    if (again !== undefined && (await ownerAlive(again))) return { ok: false, owner: again };
    await unlink(path).catch(() => undefined);
    return (await create(path, me)) ? { ok: true } : { ok: false, owner: (await read(path)) ?? { pid: 0, startTime: undefined } };
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

/** Gives up a claim this process holds (only if the file still names this process). */
export async function releaseOwnerFile(path: string): Promise<void> {
  const held = await read(path);
  if (held !== undefined && held.pid !== process.pid) return;
  await unlink(path).catch(() => undefined);
}

/** Becomes the scrubber of the job, or returns the live process that already is. */
export async function claimScrub(layout: StateLayout, key: string): Promise<OwnerClaim> {
  const dir = jobDir(layout, key);
  try {
    return await claimOwnerFile(join(dir, 'scrub.owner'), join(dir, 'scrub.guard'));
  } catch (err) {
    // No job directory (already scrubbed, or never written): there is nothing another scrubber could hold.
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return { ok: true };
    throw err;
  }
}

/** Gives up the claim (after a failed scrub; a successful one deletes the whole job directory). */
export async function releaseScrub(layout: StateLayout, key: string): Promise<void> {
  await unlink(join(jobDir(layout, key), 'scrub.owner')).catch(() => undefined);
}
