// The per-job cgroup v2 group: limits refused without their controller; on this host, cgroup.kill ends its members.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createJobCgroup, detectCgroup2, joinCgroup, killAndRemoveCgroup, missingControllers, stateDirTag } from '../../src/isolation/cgroup.js';

const isRoot = process.getuid?.() === 0;

test('limits need their controllers; the state dir tag is stable and short', async () => {
  const cg = { mount: '/nonexistent', controllers: ['pids'] };
  assert.deepEqual(missingControllers(cg, { pidsMax: 100, memoryMax: '1G' }), ['memory']);
  assert.deepEqual(missingControllers(undefined, { pidsMax: 0, memoryMax: '' }), []);
  await assert.rejects(createJobCgroup(cg, 'x', { pidsMax: 0, memoryMax: '2G' }), /offers no memory controller .*job_memory_max/);
  await assert.rejects(createJobCgroup(cg, '../escape', { pidsMax: 0, memoryMax: '' }), /invalid cgroup name/);
  assert.equal(stateDirTag('/var/lib/jobrole'), stateDirTag('/var/lib/jobrole'));
  assert.match(stateDirTag('/var/lib/jobrole'), /^[0-9a-f]{10}$/);
});

test('on this host: a job group holds a process and its children, and killAndRemoveCgroup ends them and removes it', async (t) => {
  const cg = isRoot ? await detectCgroup2() : undefined;
  if (cg === undefined) return t.skip(isRoot ? 'no cgroup v2 on this host' : 'needs root');
  const dir = await createJobCgroup(cg, `test-${process.pid}`, { pidsMax: 0, memoryMax: '' });
  const child = spawn('sh', ['-c', 'sleep 300 & sleep 300 & wait'], { stdio: 'ignore', detached: true });
  const exited = new Promise((r) => child.once('exit', r));
  await joinCgroup(dir, child.pid as number);
  await killAndRemoveCgroup(dir);
  await exited;
  assert.equal(
    await access(dir).then(
      () => true,
      () => false,
    ),
    false,
    'the group was not removed',
  );
});
