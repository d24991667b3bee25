// End to end as root with isolation "users": the job user is let through the IMDS firewall only while its
// instance-profile job runs, and is blocked again at cleanup, before the host's profile comes back.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { isRoot, type World } from './world.js';
import { JOB_ASSUMED, assertHostClean, assertOnBaseline, identityScript, ipJob, plain, startIpWorld } from './instance-profile-helpers.js';

const hasNft = spawnSync('nft', ['--version']).status === 0;

/** The uids the world's IMDS block rejects, or undefined when its table does not exist. */
function blockedUids(world: World): number[] | undefined {
  const r = spawnSync('nft', ['list', 'table', 'inet', world.firewallTable], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const uids = new Set<number>();
  for (const m of r.stdout.matchAll(/meta skuid (\{[^}]*\}|\d+)/g)) for (const n of (m[1] ?? '').match(/\d+/g) ?? []) uids.add(Number(n));
  return [...uids].sort((a, b) => a - b);
}

describe('instance-profile with isolation "users"', { skip: !isRoot || !hasNft ? 'needs root and nft' : false }, () => {
  let world: World;
  let uid: number;
  before(async () => {
    world = await startIpWorld({ isolation: 'users', propagationMs: 300 });
    uid = Number(execFileSync('id', ['-u', `${world.userPrefix}1`], { encoding: 'utf8' }).trim());
  });
  after(() => world.close());

  test('the job user reaches IMDS during its job and is blocked again after cleanup', async () => {
    assert.deepEqual(blockedUids(world), [uid], 'host init did not block the job user');
    let during: number[] | undefined | 'unset' = 'unset';
    let roleDuring: string | undefined;
    const r = await ipJob(world, {
      script: ['echo "as $(id -un)"', ...identityScript()],
      onStage: (name, phase) => {
        if (name === 'build_script' && phase === 'start') {
          during = blockedUids(world);
          roleDuring = world.emu.imdsRoleArn();
        }
      },
    });
    const log = plain(r.jobLog);
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(log, new RegExp(`^as ${world.userPrefix}1$`, 'm'));
    assert.match(log, new RegExp(`^awscli ${JOB_ASSUMED.source.slice(1)}`, 'm'));
    assert.match(log, new RegExp(`^boto3 ${JOB_ASSUMED.source.slice(1)}`, 'm'));
    assert.match(log, new RegExp(`${world.userPrefix}1 may reach the instance metadata service for this job`));
    // While the job ran: no block for its uid (the only job user, so the table is gone), and IMDS served the job's role.
    assert.ok(during === undefined || (Array.isArray(during) && !during.includes(uid)), `the job user was still blocked: ${JSON.stringify(during)}`);
    assert.match(roleDuring ?? '', /role\/ci\/legacy-deploy$/);
    // After cleanup: blocked again, and the host's role is back.
    assert.deepEqual(blockedUids(world), [uid], 'the IMDS block was not put back at cleanup');
    await assertOnBaseline(world);
    await assertHostClean(world);
    // No process of the job user survived.
    assert.equal(spawnSync('pgrep', ['-u', String(uid)]).status, 1, 'a process of the job user survived cleanup');
  });
});
