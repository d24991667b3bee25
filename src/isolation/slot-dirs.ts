// Empties a slot's builds and cache directories between jobs, deleting as the job user so no planted link is followed as root.

import { lstat } from 'node:fs/promises';
import type { JobUser } from '../state/types.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';
import { dropPrivilegeArgs } from './run-as.js';

/** Removes everything inside dir (which stays, owned by the user). Missing dir: nothing to do. */
export async function emptyDirAsUser(user: JobUser, dir: string, run: CommandRunner = runCommand): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  const drop = dropPrivilegeArgs(user.uid, user.gid);
  // Make the job's read-only directories deletable, then delete; both as the user, never crossing filesystems.
  await run('setpriv', [...drop, 'find', dir, '-xdev', '-mindepth', '1', '-type', 'd', '-exec', 'chmod', 'u+rwx', '{}', '+']);
  const args = [...drop, 'find', dir, '-xdev', '-mindepth', '1', '-delete'];
  const r = await run('setpriv', args);
  if (r.exitCode !== 0) throw new Error(`emptying ${dir}: ${describeFailure('setpriv', args, r)}`);
}
