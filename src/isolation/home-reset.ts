// Scrubbing a job user between jobs: a fresh empty home, and its files gone from the shared temp dirs.

import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { JobUser } from '../state/types.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';
import { dropPrivilegeArgs, jobTmpDir } from './run-as.js';

export const DEFAULT_TMP_ROOTS = ['/tmp', '/var/tmp', '/dev/shm'];

export interface ResetDeps {
  run?: CommandRunner;
  /** Shared world-writable directories to clear of the user's files. */
  tmpRoots?: string[];
  /** Paths under the temp roots to leave alone even if the user owns them (its home always is). */
  keep?: string[];
}

export interface ResetResult {
  /** Paths owned by the user that were removed from the temp roots. */
  removed: string[];
  /** What could not be removed (reported, not thrown: the rest of the scrub goes on). */
  problems: string[];
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Deletes paths with the user's own privileges (chmod u+rwX first so its read-only dirs go too): if the
 * job swaps a directory for a symlink mid-way, the worst that follows it is what the user could delete anyway.
 */
async function removeAsUser(user: JobUser, paths: string[], run: CommandRunner): Promise<string | undefined> {
  const drop = dropPrivilegeArgs(user.uid, user.gid);
  let failure: string | undefined;
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200);
    await run('setpriv', [...drop, 'chmod', '-R', 'u+rwX', '--', ...batch]);
    const args = [...drop, 'rm', '-rf', '--one-file-system', '--', ...batch];
    const r = await run('setpriv', args);
    if (r.exitCode !== 0) failure ??= describeFailure('setpriv', [...drop, 'rm', '-rf', '--one-file-system', '--', '...'], r);
  }
  return failure;
}

/** Walks a temp root as root without following links, collecting top-most entries owned by uid. */
async function findOwned(dir: string, uid: number, dev: number, keep: Set<string>, out: string[], depth: number): Promise<void> {
  if (depth > 32) return;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const p = join(dir, name);
    const st = await lstat(p).catch(() => undefined);
    if (st === undefined || keep.has(p)) continue;
    if (st.uid === uid) out.push(p);
    else if (st.isDirectory() && st.dev === dev) await findOwned(p, uid, dev, keep, out, depth + 1);
  }
}

async function resetHome(user: JobUser, run: CommandRunner, problems: string[]): Promise<void> {
  if (!isAbsolute(user.home) || user.home === '/') throw new Error(`job user ${user.name} has home "${user.home}": refusing to reset it`);
  const root = dirname(user.home);
  const rootSt = await lstat(root);
  if (!rootSt.isDirectory() || rootSt.uid !== 0 || (rootSt.mode & 0o022) !== 0) {
    throw new Error(`home root ${root} of ${user.name} is not a root-owned directory closed to others: refusing to reset ${user.home}`);
  }
  const st = await lstat(user.home).catch((e: unknown) => {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  });
  const stale = (await readdir(root)).filter((n) => n.startsWith(`.${basename(user.home)}.reset-`)).map((n) => join(root, n));
  if (st !== undefined) {
    if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`${user.home} is not a directory: refusing to reset it`);
    // Move the old home aside (root's directory, so the job cannot interfere with the rename) and start afresh.
    const aside = join(root, `.${basename(user.home)}.reset-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rename(user.home, aside);
    stale.push(aside);
  }
  await mkdir(user.home, { mode: 0o700 });
  await chown(user.home, user.uid, user.gid);
  await chmod(user.home, 0o700);
  await mkdir(jobTmpDir(user), { mode: 0o700 });
  await chown(jobTmpDir(user), user.uid, user.gid);
  await chmod(jobTmpDir(user), 0o700);
  for (const old of stale) {
    // As the user: empties it (the last rmdir fails, the parent is root's); then root removes what is left
    // (others' files in a dir the job opened up) after closing the directory to everyone.
    const failed = await removeAsUser(user, [old], run);
    await chown(old, 0, 0);
    await chmod(old, 0o700);
    await rm(old, { recursive: true, force: true }).catch((e: unknown) => {
      problems.push(`removing old home ${old}: ${String(e)}${failed === undefined ? '' : ` (as the user: ${failed})`}`);
    });
  }
}

/**
 * Empties the user's home (a new 0700 home with tmp/ inside; nothing in the old one is followed: a
 * `~/link -> /etc` is unlinked, not entered) and removes what the user owns under the temp roots. Call it
 * after the user's processes are ended. Throws only when the home cannot be made fresh.
 */
export async function resetJobHome(user: JobUser, deps: ResetDeps = {}): Promise<ResetResult> {
  if (user.uid === 0) throw new Error(`refusing to reset ${user.name}: uid 0 is not a job user`);
  const run = deps.run ?? runCommand;
  const problems: string[] = [];
  await resetHome(user, run, problems);
  const removed: string[] = [];
  const keep = new Set([user.home, ...(deps.keep ?? [])]);
  for (const root of deps.tmpRoots ?? DEFAULT_TMP_ROOTS) {
    const rootSt = await lstat(root).catch(() => undefined);
    if (rootSt === undefined || !rootSt.isDirectory()) continue;
    const owned: string[] = [];
    await findOwned(root, user.uid, rootSt.dev, keep, owned, 0);
    if (owned.length === 0) continue;
    const failed = await removeAsUser(user, owned, run);
    for (const p of owned) {
      if ((await lstat(p).catch(() => undefined)) === undefined) removed.push(p);
      else problems.push(`could not remove ${p}${failed === undefined ? '' : `: ${failed}`}`);
    }
  }
  return { removed, problems };
}
