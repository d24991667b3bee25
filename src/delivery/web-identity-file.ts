// Web-identity delivery: the job's ID token in a private file plus the env vars that make SDKs assume the role.

import { constants } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemFailure } from '../core/exit-codes.js';

export const WEB_IDENTITY_FILE_NAME = 'web-identity-token';

/**
 * Writes the token to <dir>/web-identity-token, mode 0600, owned by the job user when given so the job
 * (and its SDKs, which re-read the file on every refresh) can read it. Created with O_EXCL|O_NOFOLLOW: an
 * existing file or a planted symlink is refused, never followed or overwritten. dir must be a real directory.
 */
export async function writeWebIdentityFile(dir: string, token: string, owner?: { uid: number; gid: number }, mode = 0o600): Promise<{ path: string }> {
  let st;
  try {
    st = await lstat(dir);
  } catch (err) {
    throw new SystemFailure(`Cannot use ${dir} for the web-identity token file: ${(err as NodeJS.ErrnoException).code ?? 'error'}.`, { cause: err });
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new SystemFailure(`Refusing to write the web-identity token file into ${dir}: it is a symlink or not a directory.`);
  }
  const path = join(dir, WEB_IDENTITY_FILE_NAME);
  let fh;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'EEXIST' ? 'something already exists there (a symlink or a leftover file); refusing to follow or overwrite it' : (code ?? 'error');
    throw new SystemFailure(`Cannot create the web-identity token file ${path}: ${what}.`, { cause: err });
  }
  try {
    await fh.chmod(mode);
    if (owner !== undefined) await fh.chown(owner.uid, owner.gid);
    await fh.writeFile(token, 'utf8');
    await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw new SystemFailure(`Cannot write the web-identity token file ${path}: ${(err as Error).message}.`, { cause: err });
  }
  return { path };
}

/** The variables every AWS SDK and the CLI read to call AssumeRoleWithWebIdentity themselves. */
export function webIdentityEnv(opts: { roleArn: string; tokenFile: string; sessionName: string }): Record<string, string> {
  return {
    AWS_ROLE_ARN: opts.roleArn,
    AWS_WEB_IDENTITY_TOKEN_FILE: opts.tokenFile,
    AWS_ROLE_SESSION_NAME: opts.sessionName,
  };
}

/** Removes the token file (a symlink at that path is removed itself, never its target). Idempotent. */
export async function scrubWebIdentityFile(path: string): Promise<{ removed: boolean }> {
  try {
    await unlink(path);
    return { removed: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: false };
    throw new SystemFailure(`Cannot remove the web-identity token file ${path}: ${(err as Error).message}.`, { cause: err });
  }
}
