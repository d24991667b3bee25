// Clears the job user's kernel keyrings (user, user-session, persistent) so no key of one job reaches the next.

import type { JobUser } from '../state/types.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';
import { runAsJobUser } from './as-job-user.js';

/**
 * As the job user (run it only once no process of that uid is left): clears its persistent keyring, its
 * user keyring and its user-session keyring; keys nothing links any more are garbage-collected by the kernel.
 * Needs keyctl (Debian package keyutils).
 */
export async function clearKeyrings(user: JobUser, run: CommandRunner = runCommand): Promise<void> {
  const script = [
    'set -e',
    'p=$(keyctl get_persistent @us 2>/dev/null) && keyctl clear "$p" >/dev/null 2>&1 || true',
    'keyctl clear @u',
    'keyctl clear @us',
  ].join('\n');
  const r = await runAsJobUser(user, ['/bin/sh', '-c', script], run);
  if (r.exitCode === 127 || /keyctl: (not found|No such file)/.test(r.stderr)) {
    throw new Error(`keyctl is not installed: install keyutils (apt-get install keyutils) so cleanup can clear ${user.name}'s keyrings`);
  }
  if (r.exitCode !== 0 && /Permission denied/.test(r.stderr)) throw new Error(keyringLockedText(user));
  if (r.exitCode !== 0) throw new Error(`clearing the keyrings of ${user.name}: ${describeFailure('keyctl', ['clear', '@u'], r)}`);
}

/** The words a quarantine reason carries when a job locked its keyring (doctor's advice depends on it). */
export const KEYRING_LOCKED = 'the job locked its keyring';

/**
 * A job can take the write permission off its own user keyring (`keyctl setperm @u 0x1b1b0000`); `keyctl clear`
 * is then refused even to root, and the kernel keeps a uid's user keyring after its last process. Without seccomp
 * nothing stops the job doing it; the slot cannot be scrubbed until a reboot.
 */
function keyringLockedText(user: JobUser): string {
  return (
    `${KEYRING_LOCKED}: ${user.name}'s keyring refuses \`keyctl clear\` (Permission denied, to root as well: the job took the ` +
    `write permission off it with keyctl setperm) and the kernel keeps it after the uid's last process; only a reboot ` +
    `clears it, so the slot stays quarantined until the host is rebooted (then \`jobrole gc\` releases it)`
  );
}

export function isKeyringLocked(reason: string): boolean {
  return reason.includes(KEYRING_LOCKED);
}
