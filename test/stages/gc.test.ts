// gc's ownership rules with fake services: live jobs and jobs another process scrubs are left alone; held slots untouched.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectGarbage } from '../../src/stages/gc.js';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readProcessStartTime } from '../../src/core/process-identity.js';
import { runCommand } from '../../src/isolation/command.js';
import { endpointFenceFor, installEndpointFence, listEndpointFences } from '../../src/isolation/endpoint-fence.js';
import { quarantineSlot, readQuarantine } from '../../src/state/quarantine.js';
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
