// Fleet policy end to end: a role defined only in an SSM parameter is granted, and keeps working from the cache while SSM is down.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { plain, startWorld, type World } from './world.js';

const PARAM = '/jobrole/roles';
let world: World;
before(async () => {
  world = await startWorld({ delivery: 'env', extra: `[policy]\nssm_parameter = "${PARAM}"\ncache_ttl = "0s"\n` });
  world.emu.addRole({ arn: world.roleArn('fleet-deployer'), trust: { principals: [world.emu.hostRoleArn] } });
  world.emu.putParameter(
    PARAM,
    '[[roles]]\nname = "fleet-deployer"\narn = "arn:aws:iam::111122223333:role/fleet-deployer"\n  [roles.allow]\n  projects = ["group/*"]\n',
    'SecureString',
  );
});
after(() => world.close());

const job = (jobId: number, project = 'group/app') =>
  world.job({
    response: buildJobResponse({ jobId, projectId: 8, projectPath: project, ref: 'main' }),
    variables: { JOBROLE_ROLE: 'fleet-deployer', E: world.emu.endpoint },
    steps: { script: ['/usr/bin/aws sts get-caller-identity --endpoint-url "$E" --query Arn --output text'] },
  });

test('a role that exists only in the SSM parameter is granted by its rules', async () => {
  const r = await job(901);
  assert.equal(r.status, 'success', r.jobLog);
  assert.match(r.jobLog, /^arn:aws:sts::111122223333:assumed-role\/fleet-deployer\/gitlab-8-901$/m);
  assert.ok(world.emu.calls.some((c) => c.action === 'GetParameter'));
  const denied = await job(902, 'other/app');
  assert.equal(denied.status, 'failed');
  assert.match(denied.jobLog, /projects: project "other\/app" does not match "group\/\*"/);
});

test('while SSM is unreachable the cached policy is used, with a warning in the job log', async () => {
  world.emu.faults.fail500('GetParameter', 100);
  try {
    const r = await job(903);
    assert.equal(r.status, 'success', r.jobLog);
    // Searchable like the runner's own warnings: the line starts with WARNING: (after its colour code).
    assert.match(plain(r.jobLog), /^WARNING: jobrole: central policy \(SSM parameter \/jobrole\/roles\) cannot be read/m);
    assert.match(
      r.jobLog,
      /central policy \(SSM parameter \/jobrole\/roles\) cannot be read \(InternalServerError: .*\): SSM is unreachable or throttling\. Using the last good copy \(version 1\), fetched \S+ \(\d+s ago\)\./,
    );
    assert.match(r.jobLog, /assumed-role\/fleet-deployer\/gitlab-8-903/);
  } finally {
    world.emu.faults.clear();
  }
});
