// How a process is started as a job user: setpriv drops to its uid/gid with no groups and no capabilities.

import type { JobUser, SandboxRecord } from '../state/types.js';

export interface SpawnSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /**
   * Start it in a new session: nsenter must not be in the runner's process group (the runner's SIGTERM
   * would kill it while the job still runs, and lose the job's status); the run stage forwards the signal
   * to the job's own process group instead (see jobProcessGroup).
   */
  detached: boolean;
  /** cgroup v2 directory the run stage joins before starting the job, so the job's processes are in it. */
  cgroup?: string;
}

/**
 * setpriv arguments that become `uid`/`gid` with no supplementary groups, empty inheritable, ambient and
 * bounding capability sets, and no_new_privs (setuid/setcap binaries gain nothing), followed by `--`.
 */
export function dropPrivilegeArgs(uid: number, gid: number): string[] {
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`refusing to run as uid ${uid}: job users must have a non-zero uid`);
  if (!Number.isInteger(gid) || gid <= 0) throw new Error(`refusing to run with gid ${gid}: job users must have a non-zero gid`);
  return [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
}

/** The job user's own temp dir (created by ensureJobUsers / resetJobHome). */
export function jobTmpDir(user: JobUser): string {
  return `${user.home}/tmp`;
}

/**
 * The argv (after `nsenter`) that enters a sandbox and starts a job process there: nsenter into its PID,
 * mount, IPC and UTS namespaces, then setsid so the job leads its own process group, then what follows
 * (setpriv ... bash). The job starts in the namespace's / (nsenter --wd would open the directory on the
 * host's side, outside the job's view); the stage script changes to the project directory itself.
 */
export function enterSandboxArgs(record: SandboxRecord): string[] {
  if (!Number.isInteger(record.initPid) || record.initPid <= 1) throw new Error(`invalid sandbox init pid ${String(record.initPid)}`);
  return ['-t', String(record.initPid), '-p', '-m', '-i', '-u', '--', 'setsid'];
}

/**
 * How the run stage starts the job's bash, which reads the stage script on stdin. With a user, bash runs
 * as that user (see dropPrivilegeArgs) with HOME, USER, LOGNAME and TMPDIR set to the user's own; the
 * environment is exactly `env` plus those, nothing inherited. Without a user (isolation = "none"): bash.
 */
export function jobSpawnSpec(user: JobUser | undefined, env: Record<string, string>, cwd: string, sandbox?: SandboxRecord): SpawnSpec {
  if (user === undefined) return { command: 'bash', args: [], env: { ...env }, cwd, detached: false };
  const userEnv = { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name, TMPDIR: jobTmpDir(user) };
  if (sandbox === undefined) return { command: 'setpriv', args: [...dropPrivilegeArgs(user.uid, user.gid), 'bash'], env: userEnv, cwd, detached: false };
  return {
    command: 'nsenter',
    args: [...enterSandboxArgs(sandbox), 'setpriv', ...dropPrivilegeArgs(user.uid, user.gid), 'bash'],
    env: userEnv,
    cwd: '/',
    detached: true,
    ...(sandbox.cgroup !== undefined ? { cgroup: sandbox.cgroup } : {}),
  };
}

/**
 * The process group of the job a detached spawn started: its pid once `setsid` ran in nsenter's child.
 * Read from /proc/<pid>/task/<pid>/children; undefined when it is not (yet, or any more) there.
 */
export function jobProcessGroup(nsenterPid: number, readChildren: (path: string) => string | undefined): number | undefined {
  const text = readChildren(`/proc/${nsenterPid}/task/${nsenterPid}/children`);
  const first = text?.trim().split(/\s+/)[0];
  return first !== undefined && /^\d+$/.test(first) ? Number(first) : undefined;
}
