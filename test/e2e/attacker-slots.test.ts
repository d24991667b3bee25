// Attacker: a job plants files in another slot's cache, and leaves trees that are hard to delete; the next job
// on a slot sees none of it, gc never harms a running job, and a slot whose scrub fails is quarantined.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, isRoot, type World } from './world.js';
import { asUser, jobUser, openMailbox, run, SETPRIV, waitFor, peekJobStates, type Mailbox } from './attacker-helpers.js';

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users, namespaces and nftables rules';
const response = (jobId: number) => buildJobResponse({ jobId, projectId: 5, projectPath: 'group/app', ref: 'main' });
const waitPrepared = (world: World, jobId: number) =>
  waitFor(`job ${jobId} prepared`, async () => ((await peekJobStates(world)).find((j) => j.jobId === jobId && j.phase === 'prepared') ? true : undefined));
/** Every path under the slot's builds and cache dirs, as the job sees them. */
const LIST = 'find "$B1" "$C1" -mindepth 1 2>&1 | sed "s/^/seen: /"; echo listed';

describe('attacker: planted files and undeletable trees across slots (isolation users, slots 2)', { skip: NOT_ROOT }, () => {
  let world: World;
  let mailbox: Mailbox;
  let B1 = '';
  let C1 = '';
  before(async () => {
    world = await startWorld({ isolation: 'users', slots: 2 });
    mailbox = await openMailbox();
    B1 = join(world.stateDir, 'builds', 'slot1');
    C1 = join(world.stateDir, 'cache', 'slot1');
  });
  after(async () => {
    await mailbox?.close();
    await world?.close();
  });

  test("files planted by slot 2 in slot 1's cache are never seen by the next job on slot 1", async () => {
    const vars = { MB: mailbox.url, B1, C1 };
    // Job A (slot 1) opens its cache to everyone and waits.
    const jobA = world.job({
      response: response(8101),
      variables: vars,
      steps: {
        script: [
          'chmod 0777 "$C1"; mkdir -p "$C1/shared" && chmod 1777 "$C1/shared"',
          'for i in $(seq 300); do curl -sf "$MB/a-done" >/dev/null && break; sleep 0.1; done; echo a-done',
        ],
      },
    });
    await waitPrepared(world, 8101);
    // Job B (slot 2) tries to plant directly: slot 1's directories do not even exist in its sandbox.
    const b = await world.job({
      response: response(8102),
      variables: vars,
      steps: { script: ['set +e', 'echo poison > "$C1/planted" 2>&1 || echo b-plant-refused', 'ls "$C1" 2>&1 | sed "s/^/b-sees: /" || true'] },
    });
    assert.equal(b.status, 'success', b.jobLog);
    assert.match(b.jobLog, /^b-plant-refused$/m);
    assert.match(b.jobLog, /^b-sees: ls: cannot access .*No such file or directory$/m);
    // What a colluding pair could still do by passing a descriptor between their jobs: slot 2's user writes in
    // slot 1's cache (modelled from the host as that user), including a directory slot 1's user cannot empty.
    const u2 = jobUser(world, 2);
    const plant = await run(SETPRIV, [
      ...asUser(u2),
      '/bin/sh',
      '-c',
      `echo poison > "${C1}/planted" && mkdir "${C1}/shared/foreign" && echo poison > "${C1}/shared/foreign/planted" && chmod 0500 "${C1}/shared/foreign"`,
    ]);
    assert.equal(plant.code, 0, plant.stderr);
    // While slot 2's user runs again (job B2 holds slot 2), job A ends and is cleaned up.
    const jobB2 = world.job({
      response: response(8103),
      variables: vars,
      steps: { script: ['for i in $(seq 300); do curl -sf "$MB/b2-done" >/dev/null && break; sleep 0.1; done; echo b2-done'] },
    });
    await waitPrepared(world, 8103);
    // Prepared is not running yet: slot 2's user must have a live process (B2's script) when A is scrubbed.
    await waitFor("job 8103's script to run as slot 2's user", async () => (mailbox.asked('b2-done') ? true : undefined), 30_000);
    mailbox.set('a-done', '1');
    const a = await jobA;
    assert.equal(a.status, 'success', a.jobLog);
    assert.ok(
      a.stages.filter((s) => s.name === 'cleanup').every((s) => s.exitCode === 0),
      a.runnerLog,
    );
    // Job C on slot 1: nothing of A or of slot 2's user.
    const c = await world.job({ response: response(8104), variables: vars, steps: { script: [LIST] } });
    assert.equal(c.status, 'success', c.jobLog);
    assert.match(c.jobLog, /^listed$/m);
    assert.doesNotMatch(c.jobLog, /^seen: .*(planted|shared|foreign)/m, 'the next job on slot 1 saw a planted file');
    // The old cache dir (with slot 2's entries) waits, closed to everyone, until slot 2's user has no process left.
    const trash = (await readdir(join(world.stateDir, 'cache'))).filter((n) => n.startsWith('.slot1.trash-'));
    assert.equal(trash.length, 1, `expected the old cache dir kept aside: ${trash.join(', ')}`);
    mailbox.set('b2-done', '1');
    assert.equal((await jobB2).status, 'success');
    const gc = await world.cliAsync(['gc']);
    assert.equal(gc.status, 0, gc.stderr + gc.stdout);
    assert.deepEqual(
      (await readdir(join(world.stateDir, 'cache'))).filter((n) => n.includes('.trash-')),
      [],
      `gc left the old dir: ${gc.stdout}${gc.stderr}`,
    );
  });

  test('nested mode-000 trees never let a slot be reused dirty, and gc never harms a running job', async () => {
    const deep = 'p=deep; for i in $(seq 20); do mkdir -p $p; echo x > $p/f; chmod 0400 $p/f; p=$p/d; done; find deep -depth -type d -exec chmod 000 {} +';
    const n1 = await world.job({
      response: response(8201),
      variables: { B1, C1 },
      steps: { script: [`cd "$B1" && ${deep}`, `cd "$C1" && ${deep}`, 'echo planted-deep'] },
    });
    assert.equal(n1.status, 'success', n1.jobLog);
    assert.match(n1.jobLog, /^planted-deep$/m);
    assert.ok(
      n1.stages.filter((s) => s.name === 'cleanup').every((s) => s.exitCode === 0),
      n1.runnerLog,
    );
    // The next job on slot 1 holds it while gc runs twice; its checkout and its processes must survive.
    const n2 = world.job({
      response: response(8202),
      variables: { MB: mailbox.url, B1, C1 },
      steps: {
        script: [
          LIST,
          'echo mine > "$B1/marker"; sleep 600 & echo $! > "$HOME/sleeper"',
          'for i in $(seq 300); do curl -sf "$MB/n2-done" >/dev/null && break; sleep 0.1; done',
          'cat "$B1/marker"; kill -0 $(cat "$HOME/sleeper") && echo sleeper-alive',
        ],
      },
    });
    await waitPrepared(world, 8202);
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < 2; i++) {
      const gc = await world.cliAsync(['gc']);
      assert.equal(gc.status, 0, gc.stderr + gc.stdout);
      assert.doesNotMatch(gc.stdout + gc.stderr, /scrubbed job 8202/);
    }
    mailbox.set('n2-done', '1');
    const r2 = await n2;
    assert.equal(r2.status, 'success', r2.jobLog);
    assert.doesNotMatch(r2.jobLog, /^seen: .*deep/m, 'the next job saw the nested tree');
    assert.match(r2.jobLog, /^mine$/m);
    assert.match(r2.jobLog, /^sleeper-alive$/m);
  });

  test('a scrub step that fails quarantines the slot: refused by config with the reason, shown by doctor, lifted by gc', async () => {
    const states = () => peekJobStates(world);
    const q1 = world.job({
      response: response(8301),
      variables: { MB: mailbox.url },
      steps: { script: ['for i in $(seq 300); do curl -sf "$MB/q1-done" >/dev/null && break; sleep 0.1; done'] },
    });
    await waitPrepared(world, 8301);
    const slot = (await states()).find((s) => s.jobId === 8301)?.slot ?? 0;
    const dir = join(world.stateDir, 'builds', `slot${slot}`);
    // The slot's builds dir becomes a mount point: it cannot be moved aside, so its scrub fails.
    execFileSync('mount', ['--bind', dir, dir]);
    try {
      mailbox.set('q1-done', '1');
      const r = await q1;
      const cleanup = r.stages.filter((s) => s.name === 'cleanup');
      assert.ok(
        cleanup.some((s) => s.exitCode !== 0),
        'cleanup did not report the failed step',
      );
      assert.match(r.runnerLog, new RegExp(`slot ${slot} is quarantined`));
      // Both slots taken (the other by a holding job): the config stage refuses, naming the slot and what failed.
      const other = world.job({
        response: response(8302),
        variables: { MB: mailbox.url },
        steps: { script: ['for i in $(seq 300); do curl -sf "$MB/o-done" >/dev/null && break; sleep 0.1; done'] },
      });
      await waitPrepared(world, 8302);
      const refused = await world.job({ response: response(8303), steps: { script: ['echo should-not-run'] } });
      assert.notEqual(refused.status, 'success');
      assert.match(refused.jobLog, new RegExp(`slot ${slot} is quarantined .*give slot ${slot} fresh builds and cache directories`));
      mailbox.set('o-done', '1');
      assert.equal((await other).status, 'success');
      const doctor = await world.cliAsync(['doctor']);
      assert.match(doctor.stdout + doctor.stderr, new RegExp(`slot ${slot} is quarantined`));
    } finally {
      execFileSync('umount', [dir]);
    }
    const gc = await world.cliAsync(['gc']);
    assert.equal(gc.status, 0, gc.stderr + gc.stdout);
    const after = await world.job({ response: response(8304), steps: { script: ['echo runs-again'] } });
    assert.equal(after.status, 'success', after.jobLog);
    assert.doesNotMatch(after.jobLog, /quarantined/);
  });
});
