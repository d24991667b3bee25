// Idempotent directory setup: a real directory (never a symlink) with the owner and mode asked for.

import { chmod, chown, lstat, mkdir } from 'node:fs/promises';

export type DirOutcome = 'created' | 'fixed' | 'in place';

async function lstatOrUndefined(path: string) {
  return lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

/**
 * Makes `path` a directory owned by uid:gid with exactly `mode`, creating missing parents (root, 0755).
 * Refuses a symlink or file in its place. Says whether it created it, fixed owner/mode, or found it in place.
 */
export async function ensureOwnedDir(path: string, uid: number, gid: number, mode: number): Promise<DirOutcome> {
  const st = await lstatOrUndefined(path);
  if (st === undefined) {
    await mkdir(path, { recursive: true, mode: 0o700 });
    await chown(path, uid, gid);
    await chmod(path, mode);
    return 'created';
  }
  if (!st.isDirectory()) throw new Error(`${path} exists but is not a directory (a symlink or a file); remove it and run again`);
  let outcome: DirOutcome = 'in place';
  if (st.uid !== uid || st.gid !== gid) {
    await chown(path, uid, gid);
    outcome = 'fixed';
  }
  if ((st.mode & 0o7777) !== mode) {
    await chmod(path, mode);
    outcome = 'fixed';
  }
  return outcome;
}
