// End to end through the runner harness: strategy instance-profile swaps the instance's profile for one job at a
// time, the driver reads the role from IMDS and serves it through the job's endpoint (where awscli/boto3 find
// it; the job is never pointed at IMDS), and the host's own profile always comes back.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEBIAN_PYTHON, filesContaining, issuedSecrets, type World } from './world.js';
import {
  JOB_ASSUMED,
  JOB_PROFILE_ARN,
  JOB_ROLE_ARN,
  assertHostClean,
  assertOnBaseline,
  changingCalls,
  identityScript,
  ipJob,
  killOnceSwapSent,
  plain,
  stages,
  startIpWorld,
} from './instance-profile-helpers.js';

/** The job's identity lines, as awscli and boto3 printed them. */
function assertJobRoleSeen(log: string): void {
  assert.match(log, new RegExp(`^awscli ${JOB_ASSUMED.source.slice(1)}`, 'm'), 'awscli did not get the job role through the endpoint');
  assert.match(log, new RegExp(`^boto3 ${JOB_ASSUMED.source.slice(1)}`, 'm'), 'boto3 did not get the job role through the endpoint');
}

/** Every association change was signed with the host role's own (baseline) instance-profile credentials. */
function assertSignedByHost(world: World): void {
  for (const c of changingCalls(world)) {
    const who = c.accessKeyId === undefined ? undefined : world.emu.credential(c.accessKeyId);
    assert.equal(who?.roleArn, world.emu.hostRoleArn, `${c.action} was signed by ${who?.arn ?? 'nobody'}, not the host role`);
  }
}

describe('instance-profile: a job gets its role through its endpoint, read from the metadata service by the driver', () => {
  let world: World;
  before(async () => {
    world = await startIpWorld({ propagationMs: 400 });
  });
  after(() => world.close());

  test('awscli and boto3 see the profile role; prepare logs progress; the host profile is back afterwards', async () => {
    const r = await ipJob(world);
    const log = plain(r.jobLog);
    assert.equal(r.status, 'success', r.jobLog);
    assert.equal(r.prepareAttempts, 1);
    assertJobRoleSeen(log);
    // The job was given its endpoint, not the metadata service, and no static keys.
    assert.match(log, /^imds endpoint: unset$/m);
    assert.match(log, /^credentials from: http:\/\/127\.0\.0\.1:\d+\/creds$/m);
    assert.match(log, /^no static keys$/m);
    // Progress lines in prepare's part of the log, each said once, without a doubled prefix.
    assert.match(log, new RegExp(`^jobrole: attaching instance profile ${JOB_PROFILE_ARN} to i-[0-9a-f]+ \\(replacing ${world.emu.hostProfileArn}\\)$`, 'm'));
    assert.match(log, /^jobrole: waiting for the instance metadata service to serve role legacy-deploy \(up to 10 s\)$/m);
    assert.match(log, /^jobrole: confirmed arn:aws:sts::111122223333:assumed-role\/legacy-deploy\/i-[0-9a-f]+ after \d+\.\d s$/m);
    assert.doesNotMatch(log, /jobrole: jobrole:/);
    assert.match(log, /AWS role "legacy-deploy" granted/);

    // Swap and restore: exactly two replaces, both signed with the host's credentials captured before the swap.
    assert.deepEqual(
      changingCalls(world).map((c) => c.action),
      ['ReplaceIamInstanceProfileAssociation', 'ReplaceIamInstanceProfileAssociation'],
    );
    assertSignedByHost(world);
    await assertOnBaseline(world);
    await assertHostClean(world);

    // Nothing issued (the host's baseline keys included) reached the log or stayed on disk.
    const secrets = issuedSecrets(world.emu);
    assert.ok(secrets.length >= 2);
    for (const s of secrets) assert.ok(!r.jobLog.includes(s), 'a secret reached the job log');
    assert.deepEqual(await filesContaining(world, secrets), [], 'a secret was left on disk after cleanup');
    const audit = await world.audit();
    assert.ok(audit.some((e) => e.event === 'issue' && e.role_arn === JOB_ROLE_ARN && e.outcome === 'endpoint'));
    assert.ok(audit.some((e) => e.event === 'scrub' && e.outcome === 'ok'));
    assert.ok(
      audit.some((e) => e.event === 'restore' && e.outcome === 'ok' && e.instance_id === world.emu.instanceId),
      'the restore is audited',
    );
  });

  test('a second job is refused as a system failure while the first holds the host; the first succeeds, restored once', async () => {
    const before = changingCalls(world).length;
    let second: Promise<Awaited<ReturnType<typeof ipJob>>> | undefined;
    const first = await ipJob(world, {
      script: ['sleep 3', ...identityScript()],
      onStage: (name, phase) => {
        if (name === 'build_script' && phase === 'start' && second === undefined) second = ipJob(world);
      },
    });
    assert.ok(second !== undefined, 'the second job never started');
    const r2 = await second;
    assert.equal(first.status, 'success', first.jobLog);
    assertJobRoleSeen(plain(first.jobLog));

    assert.equal(r2.status, 'system_failure', r2.jobLog);
    assert.equal(r2.prepareAttempts, 3, 'a system failure is retried by the runner');
    const log2 = plain(r2.jobLog);
    // With slots = 1 the slot claim refuses it first; past that, the host lock names the holder.
    assert.match(
      log2,
      /jobrole: system failure: (all 1 job slot on this host is busy \(job \d+\); the runner retries\. This host runs one job at a time|this host runs one instance-profile job at a time and job \d+-[0-9a-f]+ .* holds it since)/,
    );
    assert.doesNotMatch(log2, /^awscli /m, 'the refused job ran its script');

    // The refused job changed nothing: one swap and one restore, both the first job's.
    assert.deepEqual(
      changingCalls(world)
        .slice(before)
        .map((c) => c.action),
      ['ReplaceIamInstanceProfileAssociation', 'ReplaceIamInstanceProfileAssociation'],
    );
    assertSignedByHost(world);
    await assertOnBaseline(world);
    await assertHostClean(world);
  });
});

describe('instance-profile: the host profile comes back however the job ends', () => {
  let world: World;
  before(async () => {
    world = await startIpWorld({ propagationMs: 300 });
  });
  after(() => world.close());

  test('script failure: exit 3 is the job failure, and the profile is restored', async () => {
    const r = await ipJob(world, { script: [...identityScript(), 'exit 3'] });
    assert.equal(r.status, 'failed', r.jobLog);
    assert.equal(r.buildExitCode, 3);
    assertJobRoleSeen(plain(r.jobLog));
    await assertOnBaseline(world, 'after a script failure');
    await assertHostClean(world);
  });

  test('cancellation during build_script: canceled, and the profile is restored', async () => {
    const r = await ipJob(world, { script: ['echo started', 'sleep 30'], cancelAfterMs: { stage: 'build_script', afterMs: 1000 } });
    assert.equal(r.status, 'canceled', r.jobLog);
    assert.match(r.jobLog, /^started$/m);
    await assertOnBaseline(world, 'after a cancel');
    await assertHostClean(world);
  });

  test('cancellation while prepare waits for IMDS: canceled, not retried, and the profile is restored', async () => {
    world.emu.imdsPropagationMs = 2500;
    try {
      const swapsBefore = changingCalls(world).length;
      const r = await ipJob(world, { cancelAfterMs: { stage: 'prepare', afterMs: 1800 } });
      assert.equal(r.status, 'canceled', r.jobLog);
      assert.equal(r.prepareAttempts, 1);
      assert.equal(stages(r, 'build_script').length, 0);
      // If the swap was sent before the cancel, it was undone.
      const actions = changingCalls(world)
        .slice(swapsBefore)
        .map((c) => c.action);
      assert.equal(actions.length % 2, 0, `a swap was not undone: ${actions.join(', ')}`);
      await assertOnBaseline(world, 'after a cancel in prepare');
      await assertHostClean(world);
    } finally {
      world.emu.imdsPropagationMs = 300;
    }
  });

  test('kill -9 of the driver while prepare waits for IMDS: cleanup restores, the retry succeeds, the job never sees the host role', async () => {
    world.emu.imdsPropagationMs = 2500;
    try {
      const swapsBefore = changingCalls(world).length;
      let killed = 0;
      const r = await ipJob(world, {
        // Watch the key the endpoint serves for a while: it must never be the host role's while the job runs.
        script: [
          ...identityScript(),
          'for i in $(seq 1 25); do echo "endpoint key: $(curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" | ' +
            `${DEBIAN_PYTHON} -c 'import hashlib,json,sys; print(hashlib.sha256(json.load(sys.stdin)["AccessKeyId"].encode()).hexdigest()[:16])')"; sleep 0.2; done`,
        ],
        onStage: async (name, phase, info) => {
          if (name !== 'prepare' || phase !== 'start' || killed > 0 || info.pid === undefined) return;
          killed++;
          const pid = info.pid;
          // Once the swap is sent, the driver is waiting for IMDS (2.5 s): kill it in the middle of that wait.
          void killOnceSwapSent(world, swapsBefore, pid, 700);
        },
      });
      assert.equal(killed, 1);
      assert.equal(stages(r, 'prepare')[0]?.signal, 'SIGKILL');
      assert.equal(r.status, 'success', r.jobLog);
      assert.equal(r.prepareAttempts, 2);
      const log = plain(r.jobLog);
      assertJobRoleSeen(log);
      // (hashed: the redactor masks anything shaped like an access key id)
      const byHash = new Map(world.emu.sessions.map((s) => [createHash('sha256').update(s.accessKeyId).digest('hex').slice(0, 16), s.roleArn]));
      const served = [...log.matchAll(/^endpoint key: (\w+)$/gm)].map((m) => m[1]!);
      assert.ok(served.length >= 20, log);
      const roles = new Set(served.map((h) => byHash.get(h) ?? `a key the emulator never issued (${h})`));
      assert.deepEqual([...roles], [JOB_ROLE_ARN], 'the endpoint served the job another role');
      // The killed attempt's cleanup restored, and waited for the late swap to arrive and go again before the retry.
      const runnerLog = plain(r.runnerLog);
      assert.match(runnerLog, /the swap to .*ci-legacy-deploy was never confirmed; watching the metadata service/);
      assert.match(runnerLog, /the metadata service now serves legacy-deploy \(the late swap\)/);
      assert.match(runnerLog, /the metadata service serves jobrole-host again/);
      assertSignedByHost(world);
      await assertOnBaseline(world, 'after kill -9 in prepare');
      await assertHostClean(world);
    } finally {
      world.emu.imdsPropagationMs = 300;
    }
  });

  test('kill -9 in prepare and of its cleanup: the undo record survives and `jobrole gc --all` restores from it', async () => {
    world.emu.imdsPropagationMs = 1500;
    try {
      const swapsBefore = changingCalls(world).length;
      let prepKilled = false;
      let cleanupKilled = false;
      const r = await ipJob(world, {
        onStage: async (name, phase, info) => {
          if (phase !== 'start' || info.pid === undefined) return;
          const pid = info.pid;
          if (name === 'prepare' && !prepKilled) {
            prepKilled = true;
            void killOnceSwapSent(world, swapsBefore, pid, 300);
          } else if (name === 'cleanup' && !cleanupKilled) {
            // The runner dies with it: its cleanup never gets to run.
            cleanupKilled = true;
            process.kill(pid, 'SIGKILL');
          }
        },
      });
      assert.equal(r.status, 'system_failure', r.jobLog);
      assert.equal(r.prepareAttempts, 3);
      // The crashed attempt still holds the host: the retries were refused, and changed nothing.
      assert.deepEqual(
        changingCalls(world)
          .slice(swapsBefore)
          .map((c) => c.action),
        ['ReplaceIamInstanceProfileAssociation'],
      );
      await sleep(world.emu.imdsPropagationMs + 300);
      assert.deepEqual(
        world.emu.associations().map((a) => a.profileArn),
        [JOB_PROFILE_ARN],
        'nothing restored the swap yet',
      );
      const [crashed] = readdirSync(join(world.stateDir, 'jobs'));
      const undo = await readFile(join(world.stateDir, 'jobs', crashed ?? 'none', 'state.json'), 'utf8');
      assert.match(undo, /"instanceProfile":\{"instanceId":"i-/, 'the undo record was not persisted before the swap');

      const gc = await world.cliAsync(['gc', '--all']);
      assert.equal(gc.status, 0, gc.stderr + gc.stdout);
      assert.match(gc.stdout, /1 scrubbed, 0 failed/);
      await assertOnBaseline(world, 'after gc');
      await assertHostClean(world);
    } finally {
      world.emu.imdsPropagationMs = 300;
    }
    // And the host takes jobs again.
    const next = await ipJob(world);
    assert.equal(next.status, 'success', next.jobLog);
    await assertOnBaseline(world);
  });
});

describe('instance-profile: a restore that cannot be done marks the host unhealthy until `jobrole gc --restore`', () => {
  let world: World;
  before(async () => {
    world = await startIpWorld({ propagationMs: 300 });
  });
  after(() => world.close());

  async function assertRefusedUnhealthy(): Promise<void> {
    const before = changingCalls(world).length;
    const refused = await ipJob(world);
    assert.equal(refused.status, 'system_failure', refused.jobLog);
    assert.match(plain(refused.jobLog), /jobrole: system failure: this host is marked unhealthy since .*`jobrole gc --restore`/);
    assert.doesNotMatch(refused.jobLog, /^awscli /m);
    assert.equal(changingCalls(world).length, before, 'a job on an unhealthy host changed the association');
  }

  test('the host role may no longer pass its own profile: unhealthy, refused, then fixed and restored by the operator', async () => {
    const r = await ipJob(world, {
      script: ['sleep 1', ...identityScript()],
      onStage: (name, phase) => {
        // Someone trims the host role's iam:PassRole to the job roles only (forgetting the host role).
        if (name === 'build_script' && phase === 'start') world.emu.setPassRole(world.emu.hostRoleArn, [JOB_ROLE_ARN]);
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assertJobRoleSeen(plain(r.jobLog));
    const runnerLog = plain(r.runnerLog);
    assert.match(runnerLog, /could not restore the instance profile of i-[0-9a-f]+: the driver credentials lack a permission .*iam:PassRole/);
    assert.match(runnerLog, /WARNING: Cleanup script failed/);
    assert.ok(existsSync(join(world.stateDir, 'host-unhealthy.json')));
    assert.deepEqual(
      world.emu.associations().map((a) => a.profileArn),
      [JOB_PROFILE_ARN],
    );

    await assertRefusedUnhealthy();

    world.emu.setPassRole(world.emu.hostRoleArn, '*');
    const fix = await world.cliAsync(['gc', '--restore']);
    assert.equal(fix.status, 0, fix.stderr + fix.stdout);
    assert.match(plain(fix.stdout + fix.stderr), /restored the instance profile of i-[0-9a-f]+/);
    assert.match(plain(fix.stdout + fix.stderr), /host marked healthy again/);
    const restores = (await world.audit()).filter((e) => e.event === 'restore');
    assert.ok(
      restores.some((e) => typeof e.outcome === 'string' && e.outcome.startsWith('failed, host marked unhealthy')),
      'the failed restore is audited',
    );
    assert.ok(
      restores.some((e) => e.outcome === 'ok' && e.detail === 'jobrole gc --restore'),
      "the operator's restore is audited",
    );
    await assertOnBaseline(world, 'after gc --restore');
    await assertHostClean(world);

    const next = await ipJob(world);
    assert.equal(next.status, 'success', next.jobLog);
    assertJobRoleSeen(plain(next.jobLog));
    await assertOnBaseline(world);
    await assertHostClean(world);
  });

  test("the captured baseline credentials stop working: unhealthy, refused, then restored with the operator's own credentials", async () => {
    const baseline = world.emu.hostRoleCredentials();
    assert.ok(baseline !== undefined);
    const r = await ipJob(world, {
      script: ['sleep 1', ...identityScript()],
      onStage: (name, phase) => {
        if (name === 'build_script' && phase === 'start') world.emu.expire(baseline.accessKeyId);
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(plain(r.runnerLog), /could not restore the instance profile of i-[0-9a-f]+: AWS no longer accepts the driver credentials/);
    assert.ok(existsSync(join(world.stateDir, 'host-unhealthy.json')));
    assert.deepEqual(
      world.emu.associations().map((a) => a.profileArn),
      [JOB_PROFILE_ARN],
    );
    // While the job's profile is attached IMDS hands out the JOB's role: gc --restore must not sign with it.
    await assertRefusedUnhealthy();

    const operator = { AWS_ACCESS_KEY_ID: world.emu.host.accessKeyId, AWS_SECRET_ACCESS_KEY: world.emu.host.secretAccessKey };
    const fix = await world.cliAsync(['gc', '--restore'], operator);
    assert.equal(fix.status, 0, fix.stderr + fix.stdout);
    await assertOnBaseline(world, 'after gc --restore with operator credentials');
    await assertHostClean(world);
    const restoreCalls = changingCalls(world).slice(-1);
    assert.equal(restoreCalls[0]?.accessKeyId, world.emu.host.accessKeyId, 'the restore was not signed with the operator credentials');

    const next = await ipJob(world);
    assert.equal(next.status, 'success', next.jobLog);
    assertJobRoleSeen(plain(next.jobLog));
    await assertOnBaseline(world);
    await assertHostClean(world);
  });
});
