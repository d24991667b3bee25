// Directories host init must never take over: system directories, and existing directories it did not make for itself.

import { lstat } from 'node:fs/promises';
import { normalize } from 'node:path';

/** Directories every host shares; jobrole may put files inside some of them but never owns or re-modes them. */
const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib64',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/local',
  '/var',
  '/var/cache',
  '/var/lib',
  '/var/local',
  '/var/log',
  '/var/opt',
  '/var/run',
  '/var/spool',
  '/var/tmp',
]);

export function isSystemDir(path: string): boolean {
  return SYSTEM_DIRS.has(normalize(path).replace(/(.)\/+$/, '$1'));
}

/**
 * Checks, never changes, an existing directory jobrole does not own (e.g. /var/log holding the audit log):
 * a real directory, owned by root, not writable by group or others (who could otherwise replace or pre-create
 * jobrole's file in it). Returns the operator's line; throws with what to change when it is unsafe.
 */
export async function checkSharedDir(path: string, key: string, purpose: string): Promise<string> {
  const st = await lstat(path);
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  if (!st.isDirectory()) throw new Error(`${key}: ${path} is not a directory (a symlink or a file); point ${key} at a directory of jobrole's own`);
  if (st.uid !== 0) {
    throw new Error(
      `${key}: ${path} is owned by uid ${st.uid}, not root, and is not jobrole's own directory, so host init does not change it; ` +
        `its owner could replace ${purpose}: use a directory of its own, e.g. /var/log/jobrole/audit.jsonl`,
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new Error(
      `${key}: ${path} is writable by group or others (mode ${mode}) and is not jobrole's own directory, so host init does not change it; ` +
        `anyone who can write there could replace ${purpose}: use a directory of its own, e.g. /var/log/jobrole/audit.jsonl`,
    );
  }
  return `${purpose} dir ${path} is a shared directory: checked, left as it is (root, mode ${mode})`;
}
