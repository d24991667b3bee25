// Checks that a job user's primary group is its own: a job's credential and ID-token files are readable by that group.

import type { JobUser } from '../state/types.js';
import { describeFailure, type CommandRunner } from './command.js';

export interface SharedGroup {
  /** The group's name (its gid as text when the group database has no entry). */
  group: string;
  gid: number;
  /** Listed members other than the user itself. */
  members: string[];
  /** Other users whose primary group it is. */
  primaryOf: string[];
}

async function getent(run: CommandRunner, args: string[]): Promise<string | undefined> {
  const r = await run('getent', args);
  if (r.exitCode === 2) return undefined;
  if (r.exitCode !== 0) throw new Error(describeFailure('getent', args, r));
  return r.stdout;
}

/**
 * Who else shares `user`'s primary group (getent group, getent passwd), or undefined when nobody does. Users
 * in a directory service that getent does not enumerate are not seen.
 */
export async function sharedPrimaryGroup(user: JobUser, run: CommandRunner): Promise<SharedGroup | undefined> {
  const gid = String(user.gid);
  const entry = (await getent(run, ['group', gid]))?.split('\n')[0];
  const [name, , , list] = entry?.split(':') ?? [];
  const members = (list ?? '')
    .trim()
    .split(',')
    .filter((m) => m !== '' && m !== user.name);
  const primaryOf = ((await getent(run, ['passwd'])) ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f[3] === gid && f[0] !== undefined && f[0] !== '' && f[0] !== user.name)
    .map((f) => f[0] as string);
  if (members.length === 0 && primaryOf.length === 0) return undefined;
  return { group: name !== undefined && name !== '' ? name : gid, gid: user.gid, members, primaryOf };
}

/** What is wrong and what to do, naming the user, the group and who else is in it. */
export function describeSharedGroup(user: JobUser, s: SharedGroup): string {
  const who = [
    ...(s.members.length > 0 ? [`members ${s.members.join(', ')}`] : []),
    ...(s.primaryOf.length > 0 ? [`the primary group of ${s.primaryOf.join(', ')}`] : []),
  ].join(' and ');
  return (
    `job user ${user.name}'s primary group ${s.group} (gid ${s.gid}) is not its own (${who}): each job's credential and ID-token files ` +
    `are readable by that group, so those accounts could read every job's credentials. Give ${user.name} a group of its own: ` +
    `take the others out of ${s.group} (gpasswd -d <user> ${s.group}, usermod -g <other group> <user>), or remove ${user.name} ` +
    `(userdel ${user.name}) and run \`jobrole host init\` again, which creates it with a private group`
  );
}
