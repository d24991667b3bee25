// Job slots: lowest free first, idempotent per job, stale holders taken over, live ones never, all busy = system failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { ensureStateLayout, stateLayout, type StateLayout } from '../../src/state/job-store.js';
import { claimSlot, releaseSlot, slotHolders } from '../../src/state/slots.js';

async function layoutIn(t: { after: (fn: () => Promise<void>) => void }): Promise<StateLayout> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-slots-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const layout = stateLayout(dir);
  await ensureStateLayout(layout);
  return layout;
}
const live = async () => true;
const dead = async () => false;

test('claims the lowest free slot, writes the holder (0600), and is idempotent for the same job', async (t) => {
  const layout = await layoutIn(t);
  assert.equal(await claimSlot(layout, 3, 'job-a', live), 1);
  assert.equal(await claimSlot(layout, 3, 'job-b', live), 2);
  assert.equal(await claimSlot(layout, 3, 'job-a', live), 1, 'a retried config keeps its slot');
  assert.equal(await readFile(join(layout.slots, '1.lock'), 'utf8'), 'job-a\n');
  assert.equal((await lstat(join(layout.slots, '1.lock'))).mode & 0o777, 0o600);
  assert.deepEqual(await slotHolders(layout, 3), [
    { slot: 1, holder: 'job-a' },
    { slot: 2, holder: 'job-b' },
    { slot: 3, holder: undefined },
  ]);
});

test('all slots busy with live jobs: SystemFailure telling the operator what to set', async (t) => {
  const layout = await layoutIn(t);
  await claimSlot(layout, 2, 'job-a', live);
  await claimSlot(layout, 2, 'job-b', live);
  const asked: string[] = [];
  await assert.rejects(
    claimSlot(layout, 2, 'job-c', async (k) => {
      asked.push(k);
      return true;
    }),
    (err: unknown) => {
      assert.ok(err instanceof SystemFailure);
      assert.equal(
        err.message,
        'all 2 job slots on this host are busy (job job, job job); the runner retries. If the runner\'s "limit" is above [driver].slots, raise slots and run "jobrole host init".',
      );
      return true;
    },
  );
  assert.deepEqual(asked, ['job-a', 'job-b'], 'each holder was asked whether it is live');
  assert.deepEqual(
    (await slotHolders(layout, 2)).map((s) => s.holder),
    ['job-a', 'job-b'],
    'live holders keep their slots',
  );
});

test("a stale holder's slot is taken over", async (t) => {
  const layout = await layoutIn(t);
  await claimSlot(layout, 2, 'crashed', live);
  await claimSlot(layout, 2, 'running', live);
  const slot = await claimSlot(layout, 2, 'new-job', async (k) => k !== 'crashed');
  assert.equal(slot, 1);
  assert.deepEqual(
    (await slotHolders(layout, 2)).map((s) => s.holder),
    ['new-job', 'running'],
  );
});

test('a planted symlink at a slot file is not written through', async (t) => {
  const layout = await layoutIn(t);
  const victim = join(layout.root, 'victim');
  await writeFile(victim, 'stale-holder\n');
  await symlink(victim, join(layout.slots, '1.lock'));
  assert.equal(await claimSlot(layout, 1, 'job-a', dead), 1);
  assert.equal(await readFile(victim, 'utf8'), 'stale-holder\n', 'the symlink target is untouched');
  assert.ok((await lstat(join(layout.slots, '1.lock'))).isFile());
});

test("releaseSlot releases only the caller's own slot", async (t) => {
  const layout = await layoutIn(t);
  await claimSlot(layout, 2, 'job-a', live);
  await releaseSlot(layout, 1, 'job-b');
  assert.equal((await slotHolders(layout, 1))[0]?.holder, 'job-a', 'another job cannot release it');
  await releaseSlot(layout, 1, 'job-a');
  assert.equal((await slotHolders(layout, 1))[0]?.holder, undefined);
  await releaseSlot(layout, 1, 'job-a');
  await releaseSlot(layout, 2, 'job-a');
  assert.equal(await claimSlot(layout, 2, 'job-c', live), 1, 'a released slot is reused');
});

test('concurrent claims by different jobs get different slots', async (t) => {
  const layout = await layoutIn(t);
  const keys = Array.from({ length: 6 }, (_, i) => `job-${i}`);
  const slots = await Promise.all(keys.map((k) => claimSlot(layout, 6, k, live)));
  assert.deepEqual([...slots].sort(), [1, 2, 3, 4, 5, 6]);
  const holders = await slotHolders(layout, 6);
  for (const [i, k] of keys.entries()) assert.equal(holders[(slots[i] as number) - 1]?.holder, k);
});

// Known bug (see report): the stale takeover is check-then-unlink, so a slower claimer deletes the winner's fresh lock.
test('two jobs taking over the same stale slot never both get it', async (t) => {
  const layout = await layoutIn(t);
  await claimSlot(layout, 1, 'crashed', live);
  let first: Promise<number> | undefined;
  // B reads the stale holder, then (while it asks whether "crashed" is live) A claims the slot completely.
  const b = claimSlot(layout, 1, 'job-b', async () => {
    first = claimSlot(layout, 1, 'job-a', async (k) => k !== 'crashed');
    await first;
    return false;
  });
  const results = await Promise.allSettled([b]);
  const a = await Promise.allSettled([first as Promise<number>]);
  const winners = [...results, ...a].filter((r) => r.status === 'fulfilled').length;
  assert.equal(winners, 1, 'exactly one of the two jobs may hold slot 1');
});
