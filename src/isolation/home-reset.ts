// A fresh home for a job user between jobs (the sandbox gives each job a private one; this keeps the one on disk clean too).

import { lstat, readdir } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { JobUser } from '../state/types.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';
import { runAsJobUser } from './as-job-user.js';
import { jobTmpDir } from './run-as.js';
import { replaceWithFreshDir, trashBeside, type FreshDirResult } from './slot-dirs.js';

export interface ResetDeps {
  run?: CommandRunner;
}

export interface ResetResult {
  /** What could not be removed yet (reported, not thrown: the home itself is fresh). */
  problems: string[];
}

/** A home that holds nothing but an empty tmp/ of the user's needs no reset. */
async function isPristine(user: JobUser): Promise<boolean> {
  const st = await lstat(user.home).catch(() => undefined);
  if (st === undefined || !st.isDirectory() || st.uid !== user.uid || (st.mode & 0o7777) !== 0o700) return false;
  const names = await readdir(user.home).catch(() => ['?']);
  if (names.length !== 1 || names[0] !== 'tmp') return false;
  const tmp = await lstat(jobTmpDir(user)).catch(() => undefined);
  return tmp !== undefined && tmp.isDirectory() && tmp.uid === user.uid && (tmp.mode & 0o7777) === 0o700 && (await readdir(jobTmpDir(user))).length === 0;
}

/**
 * Makes the user's home on disk a new 0700 directory with an empty tmp/ (tmp made by the user itself, so
 * root never creates anything inside a tree the user owns). The old home is moved aside by root in the
 * root-only home_dir and deleted as the user. Call it only when no process of the user exists.
 */
export async function resetJobHome(user: JobUser, deps: ResetDeps = {}): Promise<ResetResult> {
  if (user.uid === 0) throw new Error(`refusing to reset ${user.name}: uid 0 is not a job user`);
  if (!isAbsolute(user.home) || user.home === '/') throw new Error(`job user ${user.name} has home "${user.home}": refusing to reset it`);
  const run = deps.run ?? runCommand;
  const problems: string[] = [];
  const note = (r: FreshDirResult) => {
    if (r.leftover !== undefined) problems.push(`old home ${r.leftover} kept: ${r.leftoverWhy ?? ''}`);
  };
  if (!(await isPristine(user))) {
    note(await replaceWithFreshDir(user, user.home, 0o700, run));
    const r = await runAsJobUser(user, ['mkdir', '-m', '0700', '--', jobTmpDir(user)], run);
    if (r.exitCode !== 0) throw new Error(`making ${jobTmpDir(user)} as ${user.name}: ${describeFailure('mkdir', [jobTmpDir(user)], r)}`);
  }
  for (const old of await trashBeside(user.home)) {
    const { deleteTrash } = await import('./slot-dirs.js');
    note(await deleteTrash(old, user, run));
  }
  return { problems };
}
