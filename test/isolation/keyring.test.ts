// Clearing a job user's keyrings: the keyctl script runs as the user; a keyring the job locked is named as such.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandRunner, CommandResult } from '../../src/isolation/command.js';
import { clearKeyrings, isKeyringLocked } from '../../src/isolation/keyring.js';

const USER = { name: 'jobrole-job1', uid: 51002, gid: 51002, home: '/var/lib/jobrole/home/jobrole-job1' };

/** setpriv answers with `result`; every call is recorded. */
function fake(result: CommandResult, calls: string[][]): CommandRunner {
  return async (file, args) => {
    calls.push([file, ...args]);
    return result;
  };
}

test('clears persistent, user and user-session keyrings as the job user', async () => {
  const calls: string[][] = [];
  await clearKeyrings(USER, fake({ exitCode: 0, stdout: '', stderr: '' }, calls));
  assert.equal(calls.length, 1);
  const [file, ...args] = calls[0]!;
  assert.equal(file, 'setpriv');
  assert.ok(args.includes('--reuid=51002') && args.includes('--regid=51002'), args.join(' '));
  assert.match(args.at(-1) ?? '', /keyctl clear @u\nkeyctl clear @us$/);
});

test('a keyring the job locked (keyctl setperm) fails saying so: only a reboot clears it, the slot stays quarantined', async () => {
  const locked = fake({ exitCode: 1, stdout: '', stderr: 'keyctl_clear: Permission denied\n' }, []);
  const err = await clearKeyrings(USER, locked).then(
    () => assert.fail('clearKeyrings succeeded'),
    (e: Error) => e,
  );
  assert.match(
    err.message,
    /^the job locked its keyring: jobrole-job1's keyring refuses `keyctl clear` \(Permission denied, to root as well: the job took the write permission off it with keyctl setperm\).*only a reboot clears it, so the slot stays quarantined until the host is rebooted/,
  );
  assert.equal(isKeyringLocked(`clear the keyrings of jobrole-job1: ${err.message}`), true);
});

test('other keyctl failures keep the command and its output, and are not taken for a locked keyring', async () => {
  const err = await clearKeyrings(USER, fake({ exitCode: 1, stdout: '', stderr: 'keyctl_clear: Key has been revoked\n' }, [])).then(
    () => assert.fail('clearKeyrings succeeded'),
    (e: Error) => e,
  );
  assert.match(err.message, /^clearing the keyrings of jobrole-job1: `keyctl clear @u` exited 1: keyctl_clear: Key has been revoked$/);
  assert.equal(isKeyringLocked(err.message), false);
  await assert.rejects(
    clearKeyrings(USER, fake({ exitCode: 127, stdout: '', stderr: 'setpriv: failed to execute keyctl: No such file' }, [])),
    /keyctl is not installed/,
  );
});
