// Deleting a slot's old directory: root removes what other users left only when no process of any owner, the slot's user included, runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deleteTrash } from '../../src/isolation/slot-dirs.js';
import { tasksOfUid } from '../../src/isolation/uid-tasks.js';
import type { JobUser } from '../../src/state/types.js';
import { openTempDir, removeDir, skipReason } from './helpers.js';

const USER: JobUser = { name: 'jrtslot', uid: 64011, gid: 64011, home: '/nonexistent' };
const OTHER = 64012;

test(
  "an old directory holding another user's entries is not deleted by root while a process of the slot's own user runs",
  { skip: await skipReason(['setpriv', 'find', 'rm']) },
  async (t) => {
    const dir = await openTempDir('trash');
    t.after(() => removeDir(dir));
    // The slot's user owns the old tree; another slot's user left a directory in it the slot's user cannot empty.
    const trash = join(dir, '.slot1.trash-0123456789ab');
    const foreign = join(trash, 'foreign');
    await mkdir(foreign, { recursive: true });
    await writeFile(join(foreign, 'planted'), 'x');
    await chown(trash, USER.uid, USER.gid);
    await chown(foreign, OTHER, OTHER);
    await chown(join(foreign, 'planted'), OTHER, OTHER);
    await chmod(foreign, 0o500);
    // A process of the slot's user runs (a new job on the slot, say).
    const job = spawn('setpriv', [`--reuid=${USER.uid}`, `--regid=${USER.gid}`, '--clear-groups', 'sleep', '60'], { stdio: 'ignore' });
    t.after(() => {
      job.kill('SIGKILL');
    });
    await new Promise((r) => job.once('spawn', r));
    for (let i = 0; i < 100 && (await tasksOfUid(USER.uid)).every((x) => x.name !== 'sleep'); i++) await new Promise((r) => setTimeout(r, 10));
    const kept = await deleteTrash(trash, USER);
    assert.equal(kept.leftover, trash);
    assert.match(kept.leftoverWhy ?? '', new RegExp(`uid ${USER.uid}\\b.*still run`));
    await access(join(foreign, 'planted'));
    // Once nothing of either user runs, root deletes the rest.
    job.kill('SIGKILL');
    await new Promise((r) => job.once('exit', r));
    assert.deepEqual(await deleteTrash(trash, USER), {});
    await assert.rejects(access(trash), { code: 'ENOENT' });
  },
);
