// File helpers for secrets and state: exclusive creation, never following symlinks, atomic replace.

import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, rename, rm, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface Owner {
  uid: number;
  gid: number;
}

/** Creates (or tightens) a directory with exactly this mode, refusing a symlink in its place. */
export async function ensurePrivateDir(path: string, mode = 0o700, owner?: Owner): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  const st = await lstat(path);
  if (!st.isDirectory()) throw new Error(`${path} is not a directory (a symlink or file is in its place)`);
  if ((st.mode & 0o7777) !== mode) await chmod(path, mode);
  if (owner !== undefined && (st.uid !== owner.uid || st.gid !== owner.gid)) await chown(path, owner.uid, owner.gid);
}

/** Writes a new file with O_EXCL|O_NOFOLLOW: never through a planted symlink, never over an existing file. */
export async function writeNewFile(path: string, content: string | Buffer, mode = 0o600, owner?: Owner): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fh = await open(path, flags, mode);
  try {
    if (owner !== undefined) await fh.chown(owner.uid, owner.gid);
    await fh.chmod(mode);
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Atomically replaces a file: write a private temp file beside it, then rename over. */
export async function writeFileAtomic(path: string, content: string | Buffer, mode = 0o600, owner?: Owner): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeNewFile(tmp, content, mode, owner);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Reads a file, refusing to follow a symlink at the final component. */
export async function readFileNoFollow(path: string): Promise<string> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Removes a file or tree; rm does not follow symlinks inside it. Missing is fine. */
export async function scrubPath(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
