// Job users, one per concurrent slot: naming, lookup, and idempotent creation with a private home.

import { chmod, lstat, mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { JobUser } from '../state/types.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';
import { ensureOwnedDir } from './dirs.js';
import { describeSharedGroup, sharedPrimaryGroup } from './private-group.js';
import { jobTmpDir } from './run-as.js';

export { resetJobHome } from './home-reset.js';

const NAME = /^[a-z_][a-z0-9_-]*$/;
const MAX_NAME = 32;

export interface UserDeps {
  run?: CommandRunner;
  /** Receives one line per thing done or found in place. */
  log?: (line: string) => void;
}

/** `<prefix><slot>`, e.g. jobrole-job1; must be a valid, portable Linux user name. */
export function jobUserName(prefix: string, slot: number): string {
  if (!Number.isInteger(slot) || slot < 1) throw new Error(`job slot must be an integer >= 1, got ${String(slot)}`);
  const name = `${prefix}${slot}`;
  if (name.length > MAX_NAME || !NAME.test(name)) {
    throw new Error(
      `[driver].job_user_prefix "${prefix}" gives user name "${name}", expected at most ${MAX_NAME} characters of [a-z0-9_-] starting with a letter or _`,
    );
  }
  return name;
}

/** The user from the passwd database (getent), or undefined when there is none. */
export async function lookupJobUser(name: string, deps: UserDeps = {}): Promise<JobUser | undefined> {
  const run = deps.run ?? runCommand;
  const r = await run('getent', ['passwd', name]);
  if (r.exitCode === 2) return undefined;
  if (r.exitCode !== 0) throw new Error(`looking up user ${name}: ${describeFailure('getent', ['passwd', name], r)}`);
  const fields = (r.stdout.split('\n')[0] ?? '').split(':');
  const [n, , uid, gid, , home] = fields;
  if (n !== name || uid === undefined || gid === undefined || home === undefined || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) {
    throw new Error(`unexpected passwd entry for ${name}: ${r.stdout.trim()}`);
  }
  return { name, uid: Number(uid), gid: Number(gid), home };
}

/** Supplementary group ids of a user (its groups other than the primary one). */
async function supplementaryGroups(user: JobUser, run: CommandRunner): Promise<number[]> {
  const r = await run('id', ['-G', user.name]);
  if (r.exitCode !== 0) throw new Error(`listing groups of ${user.name}: ${describeFailure('id', ['-G', user.name], r)}`);
  return r.stdout
    .trim()
    .split(/\s+/)
    .filter((g) => g !== '')
    .map(Number)
    .filter((g) => g !== user.gid);
}

async function ensureHomeRoot(homeRoot: string, log: (l: string) => void): Promise<void> {
  if (!isAbsolute(homeRoot)) throw new Error(`[driver].home_dir must be an absolute path, got "${homeRoot}"`);
  const existed = await lstat(homeRoot).then(
    () => true,
    () => false,
  );
  if (!existed) {
    await mkdir(homeRoot, { recursive: true, mode: 0o755 });
    await chmod(homeRoot, 0o755);
    log(`created home root ${homeRoot} (root, 0755)`);
    return;
  }
  const st = await lstat(homeRoot);
  if (!st.isDirectory()) throw new Error(`[driver].home_dir ${homeRoot} is not a directory (a symlink or file)`);
  if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(
      `[driver].home_dir ${homeRoot} must be owned by root and not writable by group or others (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}): another user could replace job homes`,
    );
  }
  log(`home root ${homeRoot} in place`);
}

async function createUser(name: string, slot: number, home: string, run: CommandRunner): Promise<void> {
  const args = ['--system', '--user-group', '--no-create-home', '--home-dir', home, '--shell', '/bin/bash', '--comment', `jobrole job slot ${slot}`, name];
  const r = await run('useradd', args);
  if (r.exitCode !== 0) throw new Error(`creating job user ${name}: ${describeFailure('useradd', args, r)}`);
}

/**
 * Makes sure users <prefix>1..<prefix><slots> exist: system users with a locked password, /bin/bash, their
 * own group and no other, home <homeRoot>/<name> (0700, theirs) with a tmp/ inside. Existing users that
 * look like ours are left alone; one with another home, uid 0, extra groups or a primary group another account
 * shares (members, or someone else's primary group) is refused, never adopted.
 */
export async function ensureJobUsers(opts: { prefix: string; slots: number; homeRoot: string }, deps: UserDeps = {}): Promise<JobUser[]> {
  const run = deps.run ?? runCommand;
  const log = deps.log ?? (() => {});
  if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new Error(`[driver].slots must be an integer >= 1, got ${String(opts.slots)}`);
  const names = Array.from({ length: opts.slots }, (_, i) => jobUserName(opts.prefix, i + 1));
  await ensureHomeRoot(opts.homeRoot, log);
  const users: JobUser[] = [];
  for (const [i, name] of names.entries()) {
    const home = join(opts.homeRoot, name);
    let user = await lookupJobUser(name, { run });
    let created = false;
    if (user === undefined) {
      await createUser(name, i + 1, home, run);
      user = await lookupJobUser(name, { run });
      if (user === undefined) throw new Error(`job user ${name} was created but cannot be looked up`);
      created = true;
    }
    if (user.uid === 0 || user.gid === 0) throw new Error(`user ${name} has uid/gid 0: refusing to use it as a job user`);
    if (user.home !== home) {
      throw new Error(
        `user ${name} already exists with home ${user.home}, not ${home}: it does not look like a jobrole job user; remove it or choose another [driver].job_user_prefix`,
      );
    }
    const extra = await supplementaryGroups(user, run);
    if (extra.length > 0) {
      throw new Error(`job user ${name} is in supplementary groups ${extra.join(', ')}: remove them (gpasswd -d ${name} <group>) so jobs get no extra access`);
    }
    const shared = await sharedPrimaryGroup(user, run);
    if (shared !== undefined) throw new Error(describeSharedGroup(user, shared));
    const homeState = await ensureOwnedDir(home, user.uid, user.gid, 0o700);
    const tmpState = await ensureOwnedDir(jobTmpDir(user), user.uid, user.gid, 0o700);
    if (created) log(`created job user ${name} (uid ${user.uid}, home ${home})`);
    else if (homeState === 'in place' && tmpState === 'in place') log(`job user ${name} (uid ${user.uid}) in place`);
    else log(`job user ${name} (uid ${user.uid}) in place; home ${homeState}, ${jobTmpDir(user)} ${tmpState}`);
    users.push(user);
  }
  return users;
}
