// Attacker: a job leaves processes, a credential-squatting loop and copies of its credentials behind; after
// cleanup none of it survives and the endpoint is closed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildJobResponse, type JobResult } from '../harness/runner.js';
import { startWorld, issuedSecrets, isRoot, DEBIAN_AWS, type World, DEPLOYER_ROLE } from './world.js';
import { connectRefused, processesOf, waitForEndpoint } from './attacker-helpers.js';
import { filesHolding } from './secret-scan.js';

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users and nftables rules';

describe('attacker: a job leaves things behind (isolation users, endpoint delivery)', { skip: NOT_ROOT }, () => {
  let world: World;
  let r: JobResult;
  let endpoint: Awaited<ReturnType<typeof waitForEndpoint>>;
  let during: Array<{ pid: number; cmdline: string }> = [];

  before(async () => {
    world = await startWorld({ isolation: 'users', slots: 1, roles: DEPLOYER_ROLE });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    const leak = join(world.dir, 'leak');
    await mkdir(leak, { recursive: true });
    await chmod(leak, 0o1777);
    const C = 'curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"';
    r = await world.job({
      response: buildJobResponse({ jobId: 7401, projectId: 5, projectPath: 'group/app', ref: 'main' }),
      variables: { JOBROLE_ROLE: 'deployer', LEAK_DIR: leak },
      onStage: async (name, phase) => {
        if (name !== 'build_script') return;
        if (phase === 'start') endpoint = await waitForEndpoint(world, 7401);
        else during = await processesOf(endpoint.user.uid);
      },
      steps: {
        script: [
          'sleep 9999 &',
          'setsid nohup sleep 9999 >/dev/null 2>&1 &',
          // A squatter that keeps the credentials fresh for later, and one that ignores SIGTERM.
          `setsid nohup bash -c 'while :; do ${C} > $HOME/squat.json; sleep 0.5; done' >/dev/null 2>&1 &`,
          `nohup bash -c 'trap "" TERM HUP INT; while :; do sleep 1; done' >/dev/null 2>&1 & disown`,
          // Copies of the credentials wherever the job can write, some of them hard to delete.
          `${C} > /tmp/loot-$USER; ${C} > /var/tmp/loot-$USER; ${C} > /dev/shm/loot-$USER; ${C} > $HOME/loot; ${C} > $TMPDIR/loot`,
          `mkdir -p /tmp/hide-$USER/deep && ${C} > /tmp/hide-$USER/deep/creds && chmod 000 /tmp/hide-$USER/deep /tmp/hide-$USER`,
          `${DEBIAN_AWS} configure export-credentials --format env > $HOME/.aws-env`,
          // The host is read-only inside the sandbox: a copy out to a world-writable host directory fails.
          'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI" > $LEAK_DIR/url-$USER 2>/dev/null || echo "leak dir not writable"; ln -s /etc $HOME/etc-link',
          'echo left-behind',
        ],
      },
    });
  });
  after(() => world?.close());

  test('the job ran and left its things behind while it ran', () => {
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(r.jobLog, /^left-behind$/m);
    assert.ok(
      during.filter((p) => /^sleep 9999/.test(p.cmdline)).length >= 2,
      `the sleeps were not running at the end of the stage: ${JSON.stringify(during)}`,
    );
    assert.ok(
      during.some((p) => /while :/.test(p.cmdline)),
      'the squatter was not running',
    );
  });

  test('after cleanup no process of the job user remains', async () => {
    assert.deepEqual(await processesOf(endpoint.user.uid), []);
  });

  test('after cleanup the credentials endpoint is closed', async () => {
    const port = Number(new URL(endpoint.url).port);
    assert.equal(await connectRefused(port), true, `something still listens on ${port}`);
    const cmdline = await readFile(`/proc/${endpoint.brokerPid}/cmdline`, 'utf8').catch(() => '');
    assert.doesNotMatch(cmdline, /jobrole-broker/, 'the broker is still running');
  });

  test('after cleanup no file under the world, /tmp, /var/tmp or /dev/shm holds a secret or the token', async () => {
    const secrets = [...issuedSecrets(world.emu), endpoint.token];
    assert.ok(secrets.length >= 3);
    assert.deepEqual(await filesHolding([world.dir, '/tmp', '/var/tmp', '/dev/shm'], secrets), []);
    for (const p of [
      `/tmp/loot-${endpoint.user.name}`,
      `/var/tmp/loot-${endpoint.user.name}`,
      `/dev/shm/loot-${endpoint.user.name}`,
      `/tmp/hide-${endpoint.user.name}`,
    ]) {
      assert.equal(existsSync(p), false, `${p} survived cleanup`);
    }
    assert.deepEqual((await readdir(endpoint.user.home)).sort(), ['tmp'], 'the home was not reset');
    assert.ok(existsSync('/etc/passwd'), 'the planted ~/etc-link was followed');
  });

  test('cleanup reports a complete scrub and leaves no job state', async () => {
    const cleanup = r.stages.filter((s) => s.name === 'cleanup');
    assert.ok(cleanup.length > 0);
    assert.ok(
      cleanup.every((s) => s.exitCode === 0),
      `cleanup failed:\n${r.runnerLog}`,
    );
    assert.deepEqual(await readdir(join(world.stateDir, 'jobs')).catch(() => []), [], 'the job state was kept: the scrub was incomplete');
  });
});
