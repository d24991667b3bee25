// Gives a slot a fresh, empty directory between jobs: the old one is moved aside by root and emptied as the job user.

import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, rename, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { JobUser } from '../state/types.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';
import { runAsJobUser } from './as-job-user.js';
import { tasksOfUid } from './uid-tasks.js';

/** Old slot directories waiting to be deleted are named .<name>.trash-<random> beside the slot. */
const TRASH_MARK = '.trash-';

export interface FreshDirResult {
  /** An old directory that could not be deleted yet (entries of another user who still runs); gc retries. */
  leftover?: string;
  leftoverWhy?: string;
}

async function rootOnlyParent(dir: string): Promise<void> {
  const parent = dirname(dir);
  const st = await lstat(parent);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(
      `${parent} must be a root-owned directory that nobody else can write (owner ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}): refusing to replace ${dir} in it`,
    );
  }
}

/** Owners of everything under dir, found as root without following links (read-only: lstat and readdir). */
async function ownersUnder(dir: string, out: Set<number>, depth = 0): Promise<void> {
  if (depth > 4096) return;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (st === undefined) continue;
    out.add(st.uid);
    if (st.isDirectory()) await ownersUnder(join(dir, name), out, depth + 1);
  }
}

/**
 * Deletes an old directory that root moved into a root-only place. First as the job user (its own files,
 * read-only and mode-000 trees of any depth: chmod -R then find -delete, never following a link). What is
 * left belongs to other users: root deletes it with GNU rm (descriptor-relative, no link is ever followed)
 * only when none of those users has a process that could still reach into it; else it stays for gc.
 */
export async function deleteTrash(trash: string, user: JobUser, run: CommandRunner = runCommand): Promise<FreshDirResult> {
  await runAsJobUser(user, ['chmod', '-R', 'u+rwX', '--', trash], run);
  const del = await runAsJobUser(user, ['find', trash, '-xdev', '-mindepth', '1', '-delete'], run);
  if ((await readdir(trash)).length > 0) {
    const owners = new Set<number>();
    await ownersUnder(trash, owners);
    // The job user counts too: root never deletes a tree a process of the slot's user (a new job) might write into.
    owners.add(user.uid);
    const running: number[] = [];
    for (const uid of owners) if (uid !== 0 && (await tasksOfUid(uid)).length > 0) running.push(uid);
    if (owners.has(0)) {
      return {
        leftover: trash,
        leftoverWhy: `it holds root-owned entries (hard links?) that a job user could not have deleted: look at it and remove it by hand`,
      };
    }
    if (running.length > 0) {
      await chown(trash, 0, 0);
      await chmod(trash, 0o700);
      return {
        leftover: trash,
        leftoverWhy: `it holds entries of uid ${running.join(', ')}, which still run${del.exitCode !== 0 ? `; as ${user.name}: ${describeFailure('find', ['-delete'], del)}` : ''}`,
      };
    }
    const r = await run('rm', ['-rf', '--one-file-system', '--', trash]);
    if (r.exitCode !== 0) return { leftover: trash, leftoverWhy: describeFailure('rm', ['-rf', '--one-file-system', '--', trash], r) };
    return {};
  }
  await rmdir(trash);
  return {};
}

/**
 * Replaces dir (a slot's builds or cache directory, or a home) with a new empty one owned by the user:
 * root renames the old one aside inside the root-only parent (no job can swap what is renamed there) and
 * makes the new one; the old one is then deleted by deleteTrash. Call it only when no process of the user
 * exists. The slot is clean whether or not the old directory could be deleted yet.
 */
export async function replaceWithFreshDir(user: JobUser, dir: string, mode = 0o700, run: CommandRunner = runCommand): Promise<FreshDirResult> {
  await rootOnlyParent(dir);
  const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  let trash: string | undefined;
  if (st !== undefined) {
    trash = join(dirname(dir), `.${basename(dir)}${TRASH_MARK}${randomBytes(6).toString('hex')}`);
    await rename(dir, trash);
  }
  await mkdir(dir, { mode: 0o700 });
  await chown(dir, user.uid, user.gid);
  await chmod(dir, mode);
  if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty right after it was made`);
  return trash === undefined ? {} : deleteTrash(trash, user, run);
}

/** Old directories of `dir`'s kind left beside it (for gc to retry). */
export async function trashBeside(dir: string): Promise<string[]> {
  const prefix = `.${basename(dir)}${TRASH_MARK}`;
  const names = await readdir(dirname(dir)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(prefix)).map((n) => join(dirname(dir), n));
}

/** Whether dir exists and is empty (entries of any owner count). */
export async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}
