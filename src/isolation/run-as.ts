// How a process is started as a job user: setpriv drops to its uid/gid with no groups and no capabilities.

import type { JobUser } from '../state/types.js';

export interface SpawnSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * setpriv arguments that become `uid`/`gid` with no supplementary groups, empty inheritable, ambient and
 * bounding capability sets, and no_new_privs (setuid/setcap binaries gain nothing), followed by `--`.
 */
export function dropPrivilegeArgs(uid: number, gid: number): string[] {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing to run as uid ${uid}: job users must have a non-zero uid`);
  if (!Number.isInteger(gid) || gid <= 0) throw new Error(`refusing to run with gid ${gid}: job users must have a non-zero gid`);
  return [
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--ambient-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
  ];
}

/** The job user's own temp dir (created by ensureJobUsers / resetJobHome). */
export function jobTmpDir(user: JobUser): string {
  return `${user.home}/tmp`;
}

/**
 * How the run stage starts the job's bash, which reads the stage script on stdin. With a user, bash runs
 * as that user (see dropPrivilegeArgs) with HOME, USER, LOGNAME and TMPDIR set to the user's own; the
 * environment is exactly `env` plus those, nothing inherited. Without a user (isolation = "none"): bash.
 */
export function jobSpawnSpec(user: JobUser | undefined, env: Record<string, string>, cwd: string): SpawnSpec {
  if (user === undefined) return { command: 'bash', args: [], env: { ...env }, cwd };
  return {
    command: 'setpriv',
    args: [...dropPrivilegeArgs(user.uid, user.gid), 'bash'],
    env: { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name, TMPDIR: jobTmpDir(user) },
    cwd,
  };
}
