// End to end as root: before the host's profile is given back, cleanup makes sure every job user is fenced off
// IMDS — re-installing a block that went missing, or, when that fails, marking the host unhealthy instead.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, type World } from './world.js';
import { JOB_PROFILE_ARN, assertHostClean, assertOnBaseline, identityScript, ipJob, plain, startIpWorld } from './instance-profile-helpers.js';

const NFT = '/usr/sbin/nft';
const hasNft = spawnSync(NFT, ['--version']).status === 0;

function blockedUids(world: World): number[] | undefined {
  const r = spawnSync(NFT, ['list', 'table', 'inet', world.firewallTable], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const uids = new Set<number>();
  for (const m of r.stdout.matchAll(/meta skuid (\{[^}]*\}|\d+)/g)) for (const n of (m[1] ?? '').match(/\d+/g) ?? []) uids.add(Number(n));
  return [...uids].sort((a, b) => a - b);
}

describe('instance-profile cleanup checks the IMDS fence before restoring', { skip: !isRoot || !hasNft ? 'needs root and nft' : false }, () => {
  let world: World;
  let uid: number;
  let fakeBin: string;
  let broken: string;
  before(async () => {
    world = await startIpWorld({ isolation: 'users', propagationMs: 300 });
    uid = Number(execFileSync('id', ['-u', `${world.userPrefix}1`], { encoding: 'utf8' }).trim());
    // An nft that fails while `broken` exists: a firewall the driver can no longer change or read.
    fakeBin = join(world.dir, 'fake-bin');
    broken = join(world.dir, 'nft-broken');
    await mkdir(fakeBin, { recursive: true });
    await writeFile(join(fakeBin, 'nft'), `#!/bin/sh\n[ -e '${broken}' ] && { echo "nft: Operation not permitted" >&2; exit 1; }\nexec ${NFT} "$@"\n`, {
      mode: 0o755,
    });
  });
  after(() => world.close());

  const withFakeNft = () => ({ runnerEnv: { PATH: `${fakeBin}:${world.runnerEnv.PATH ?? '/usr/bin:/bin'}` } });

  test('a block flushed during the job (as an older version left it open) is re-installed before the restore', async () => {
    const r = await ipJob(world, {
      ...withFakeNft(),
      script: identityScript(),
      onStage: (name, phase) => {
        if (name === 'build_script' && phase === 'start') execFileSync(NFT, ['delete', 'table', 'inet', world.firewallTable]);
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(plain(r.runnerLog), /the IMDS block for job users was missing; it was re-installed before the restore/);
    assert.deepEqual(blockedUids(world), [uid], 'the block is not back');
    await assertOnBaseline(world);
    await assertHostClean(world);
  });

  test("re-fencing fails: the host is marked unhealthy and keeps the job's profile; fixed, gc --restore re-fences and restores", async () => {
    const r = await ipJob(world, {
      ...withFakeNft(),
      script: identityScript(),
      onStage: async (name, phase) => {
        if (name === 'build_script' && phase === 'start') {
          execFileSync(NFT, ['delete', 'table', 'inet', world.firewallTable]);
          await writeFile(broken, '');
        }
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    const runnerLog = plain(r.runnerLog);
    assert.match(
      runnerLog,
      /check that job users are fenced off the metadata service: the IMDS block for job users is not in place .* re-installing it failed: .*Operation not permitted/,
    );
    assert.match(runnerLog, /restore the instance profile of i-[0-9a-f]+: not restored, host marked unhealthy/);
    assert.ok(existsSync(join(world.stateDir, 'host-unhealthy.json')), 'the host was not marked unhealthy');
    // Not restored half-way: the host's role was not given back while job users could reach IMDS.
    assert.deepEqual(
      world.emu.associations().map((a) => a.profileArn),
      [JOB_PROFILE_ARN],
    );
    assert.equal(blockedUids(world), undefined);
    const refused = await ipJob(world);
    assert.equal(refused.status, 'system_failure', refused.jobLog);
    assert.match(plain(refused.jobLog), /this host is marked unhealthy since .*IMDS block/);

    // gc --restore refuses while the firewall still cannot be fixed...
    const stuck = await world.cliAsync(['gc', '--restore'], { PATH: `${fakeBin}:${world.runnerEnv.PATH ?? ''}` });
    assert.notEqual(stuck.status, 0);
    assert.match(plain(stuck.stdout + stuck.stderr), /not restored: the IMDS block for job users is not in place/);
    assert.deepEqual(
      world.emu.associations().map((a) => a.profileArn),
      [JOB_PROFILE_ARN],
    );
    // ...and once it can, re-fences, then restores.
    await rm(broken);
    const fix = await world.cliAsync(['gc', '--restore']);
    assert.equal(fix.status, 0, fix.stderr + fix.stdout);
    assert.deepEqual(blockedUids(world), [uid]);
    await assertOnBaseline(world, 'after gc --restore');
    await assertHostClean(world);
    const next = await ipJob(world);
    assert.equal(next.status, 'success', next.jobLog);
  });
});
