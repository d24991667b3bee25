// gc's ownership rules with fake services: live jobs and jobs another process scrubs are left alone; held slots untouched.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectGarbage, sweepOrphans } from '../../src/stages/gc.js';
import { spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readProcessStartTime } from '../../src/core/process-identity.js';
import { runCommand } from '../../src/isolation/command.js';
import { endpointFenceFor, installEndpointFence, listEndpointFences } from '../../src/isolation/endpoint-fence.js';
import { liftQuarantine, quarantineSlot, readQuarantine, type Quarantine } from '../../src/state/quarantine.js';
import { retryQuarantinedSlot } from '../../src/stages/gc-slots.js';
import { releaseSlot, slotHolders } from '../../src/state/slots.js';
import { deleteJobState, jobDir } from '../../src/state/job-store.js';
import type { JobState, JobUser } from '../../src/state/types.js';
import { fakeWorld, onlyState } from './fake-services.js';
import { configured } from './configured.js';

const USER: JobUser = { name: 'jrtunit2', uid: 64002, gid: 64002, home: '/nonexistent/jrtunit2' };

test('a live job is left alone; gc --all scrubs it', async (t) => {
  const w = await fakeWorld(t, { live: {} });
  await configured(w);
  const key = (await onlyState(w))?.key as string;
  w.svc.host.liveness = async () => ({ live: true });
  const r = await collectGarbage(w.svc);
  assert.deepEqual(r, { scrubbed: [], failed: [], live: [key] });
  assert.ok(await onlyState(w), 'its state is untouched');
  const all = await collectGarbage(w.svc, { all: true });
  assert.deepEqual(all.scrubbed, [key]);
  assert.equal(await onlyState(w), undefined);
  assert.match(w.rec.audit.at(-1)?.detail ?? '', /gc --all/);
});

test('an abandoned job is scrubbed, and says why', async (t) => {
  const w = await fakeWorld(t);
  await configured(w);
  const r = await collectGarbage(w.svc);
  assert.equal(r.scrubbed.length, 1);
  assert.match(w.rec.audit.at(-1)?.detail ?? '', /gc: abandoned: fake: not live/);
  assert.equal((await slotHolders(w.svc.layout, 1))[0]?.holder, undefined);
});

test('a job another live process is scrubbing is never joined, even with --all: no step runs, its state stays', async (t) => {
  const w = await fakeWorld(t, { user: USER });
  await configured(w);
  const state = (await onlyState(w)) as JobState;
  // Another process (a cleanup still running) owns the scrub: its pid and start time are in the owner file.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => {
    other.kill('SIGKILL');
  });
  const pid = other.pid as number;
  await writeFile(join(jobDir(w.svc.layout, state.key), 'scrub.owner'), JSON.stringify({ pid, startTime: await readProcessStartTime(pid) }));
  const r = await collectGarbage(w.svc, { all: true });
  assert.deepEqual(r.failed, [state.key]);
  assert.deepEqual(w.rec.calls, [], 'not a single undo step ran');
  assert.ok(await onlyState(w));
  // Once that process is gone, gc takes the scrub over.
  other.kill('SIGKILL');
  await new Promise((r) => other.once('exit', r));
  assert.equal((await collectGarbage(w.svc, { all: true })).scrubbed.length, 1);
  assert.equal(await onlyState(w), undefined);
  assert.ok(w.rec.warnings.some((l) => /is being scrubbed by process \d+; left to it/.test(l)));
});

test('a quarantined slot another job holds is never touched; once free, gc scrubs it again and lifts the quarantine', async (t) => {
  const w = await fakeWorld(t, { user: USER });
  await configured(w);
  const holder = (await onlyState(w)) as JobState;
  // An earlier job of slot 1 left it quarantined; its state is gone. The slot now belongs to `holder`, which is live.
  await quarantineSlot(w.svc.layout, 1, '4100-aaaaaaaaaaaa', 'scrub slot 1: processes survived');
  w.svc.host.liveness = async () => ({ live: true });
  await collectGarbage(w.svc);
  assert.deepEqual(w.rec.calls, [], 'the held slot was left alone');
  assert.equal((await readQuarantine(w.svc.layout, 1))?.reason, 'scrub slot 1: processes survived');
  // The holder is gone (its own cleanup released the slot): gc retries the slot's scrub and lifts the quarantine.
  await deleteJobState(w.svc.layout, holder.key);
  await releaseSlot(w.svc.layout, 1, holder.key);
  await collectGarbage(w.svc);
  assert.deepEqual(w.rec.calls, ['step scrub slot 1']);
  assert.equal(await readQuarantine(w.svc.layout, 1), undefined);
});

test('a quarantined slot whose scrub fails again stays quarantined with the new reason', async (t) => {
  const w = await fakeWorld(t, { user: USER, failingSteps: ['scrub slot 1'] });
  await quarantineSlot(w.svc.layout, 1, undefined, 'first failure');
  await collectGarbage(w.svc);
  assert.deepEqual(w.rec.calls, ['step scrub slot 1']);
  assert.match((await readQuarantine(w.svc.layout, 1))?.reason ?? '', /scrub slot 1 failed \(fake\)/);
});

test('a quarantined slot whose scrub another live process retries is not touched; once it is gone, gc takes the slot over', async (t) => {
  const w = await fakeWorld(t, { user: USER });
  await quarantineSlot(w.svc.layout, 1, undefined, 'scrub slot 1: processes survived');
  // Another gc (or a config stage's sweep) is in the middle of this slot's steps: its pid and start time are in slots/1.scrub.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => {
    other.kill('SIGKILL');
  });
  const pid = other.pid as number;
  const claim = join(w.svc.layout.slots, '1.scrub');
  await writeFile(claim, JSON.stringify({ pid, startTime: await readProcessStartTime(pid) }));
  await collectGarbage(w.svc);
  assert.deepEqual(w.rec.calls, [], 'not a single slot step ran');
  assert.equal((await readQuarantine(w.svc.layout, 1))?.reason, 'scrub slot 1: processes survived', 'the quarantine is neither lifted nor rewritten');
  assert.ok(w.rec.lines.some((l) => l.includes(`slot 1 is being scrubbed by process ${pid}; left to it`)));
  // That process died mid-scrub: gc takes its claim over, holds it through the steps, and gives it up after the lift.
  other.kill('SIGKILL');
  await new Promise((r) => other.once('exit', r));
  const owners: unknown[] = [];
  const host = { ...w.svc.host };
  w.svc.host.slotSteps = (slot, user, key) => [
    { name: 'look at the claim', run: async () => void owners.push(JSON.parse(await readFile(claim, 'utf8'))) },
    ...host.slotSteps(slot, user, key),
  ];
  await collectGarbage(w.svc);
  assert.deepEqual(w.rec.calls, ['step scrub slot 1']);
  assert.equal(await readQuarantine(w.svc.layout, 1), undefined);
  assert.deepEqual(owners, [{ pid: process.pid, startTime: await readProcessStartTime(process.pid) }]);
  await assert.rejects(access(claim), { code: 'ENOENT' }, 'the claim is given up');
});

test('gc re-reads a quarantined slot once it holds its claim: what changed since it looked is left alone', async (t) => {
  const w = await fakeWorld(t, { user: USER });
  const { layout } = w.svc;
  await quarantineSlot(layout, 1, undefined, 'scrub slot 1: processes survived');
  const seen = { q: (await readQuarantine(layout, 1)) as Quarantine, holder: undefined };
  // Meanwhile another gc scrubbed the slot and lifted the quarantine, and a new job claimed the slot.
  await liftQuarantine(layout, 1);
  await configured(w);
  const job = (await onlyState(w)) as JobState;
  assert.equal(await retryQuarantinedSlot(w.svc, seen), 'gone');
  assert.deepEqual(w.rec.calls, [], "no step touched the new job's slot");
  assert.equal((await slotHolders(layout, 1))[0]?.holder, job.key, 'the new job keeps its slot');
  // The new job's own scrub failed and quarantined the slot again (its state stays for the job loop to retry).
  await quarantineSlot(layout, 1, job.key, 'scrub slot 1: directories not replaced');
  assert.equal(await retryQuarantinedSlot(w.svc, seen), 'kept');
  assert.deepEqual(w.rec.calls, []);
  assert.equal((await readQuarantine(layout, 1))?.reason, 'scrub slot 1: directories not replaced');
  assert.equal((await slotHolders(layout, 1))[0]?.holder, job.key);
});

test('old slot directories left behind are deleted by `jobrole gc` (oldDirs), never walked by the sweep before a job', async (t) => {
  const w = await fakeWorld(t, { user: USER });
  const old = join(w.dir, 'builds', '.slot1.trash-0123456789ab');
  await mkdir(old, { recursive: true });
  await sweepOrphans(w.svc);
  await collectGarbage(w.svc);
  await access(old);
  assert.ok(!w.rec.lines.concat(w.rec.warnings).some((l) => l.includes(old)), 'the sweep did not look at it');
  await collectGarbage(w.svc, { oldDirs: true });
  await assert.rejects(access(old), { code: 'ENOENT' });
  assert.ok(w.rec.lines.includes(`jobrole gc: deleted old directory ${old} of slot 1`));
});

test(
  "an endpoint firewall rule whose job has no state is removed; a live job's is kept (root: real nftables)",
  { skip: process.getuid?.() === 0 ? false : 'needs root for nft' },
  async (t) => {
    const table = `jrtgc${process.pid}`;
    const w = await fakeWorld(t, { user: USER, firewallTable: table });
    t.after(async () => {
      await runCommand('nft', ['delete', 'table', 'inet', `${table}_ep`]);
    });
    await configured(w);
    const live = (await onlyState(w)) as JobState;
    const kept = endpointFenceFor(table, live.key);
    const orphan = endpointFenceFor(table, '4100-aaaaaaaaaaaa');
    await installEndpointFence(kept, { port: 40001, uid: USER.uid });
    await installEndpointFence(orphan, { port: 40002, uid: USER.uid });
    w.svc.host.liveness = async () => ({ live: true });
    await collectGarbage(w.svc);
    assert.deepEqual(await listEndpointFences(`${table}_ep`), [kept]);
    assert.ok(w.rec.lines.some((l) => /removed the endpoint firewall rule of job 4100/.test(l)));
  },
);
