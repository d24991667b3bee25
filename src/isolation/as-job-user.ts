// Helpers the driver runs as a job user (emptying its dirs, clearing its keyring): dropped privileges and a minimal environment.

import { SAFE_PATH } from '../runner/env.js';
import type { JobUser } from '../state/types.js';
import { runCommand, type CommandResult, type CommandRunner } from './command.js';
import { dropPrivilegeArgs } from './run-as.js';

/**
 * The whole environment of a helper run as the job user: nothing of the driver's (no runner variables, no
 * CUSTOM_ENV_*, no job token, no ID token, no AWS_*), only what the tools need.
 */
export function helperEnv(user: JobUser): Record<string, string> {
  return { PATH: SAFE_PATH, HOME: '/', USER: user.name, LOGNAME: user.name, LC_ALL: 'C' };
}

/** Runs argv as the job user (setpriv: its uid/gid, no groups, no capabilities, no_new_privs) with helperEnv. */
export function runAsJobUser(user: JobUser, argv: readonly string[], run: CommandRunner = runCommand): Promise<CommandResult> {
  return run('setpriv', [...dropPrivilegeArgs(user.uid, user.gid), ...argv], { env: helperEnv(user) });
}
