// STS trouble end to end: throttling is retried with backoff, outages become system failures, oversized tags are dropped.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, type World } from './world.js';

const ROLES = `
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
`;

describe('STS faults', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ delivery: 'env', roles: ROLES });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(() => world.close());
  const job = (jobId: number) =>
    world.job({
      response: buildJobResponse({ jobId, projectId: 3, projectPath: 'group/app', ref: 'release/2025.1-rc+build' }),
      variables: { JOBROLE_ROLE: 'deployer' },
      steps: { script: ['echo "key=$AWS_ACCESS_KEY_ID" | cut -c1-8'] },
    });
  const assumeCalls = () => world.emu.calls.filter((c) => c.action === 'AssumeRole');

  test('throttling is retried with backoff inside one prepare', async () => {
    const before = assumeCalls().length;
    world.emu.faults.throttle('AssumeRole', 3);
    const r = await job(701);
    assert.equal(r.status, 'success', r.jobLog);
    assert.equal(r.prepareAttempts, 1);
    assert.equal(assumeCalls().length - before, 4, '3 throttled calls, then the one that worked');
  });

  test('a persistent 500 becomes a system failure the runner retries, with the AWS request id', async () => {
    const first = assumeCalls().length;
    world.emu.faults.fail500('AssumeRole', 12);
    const r = await job(702);
    assert.equal(r.status, 'system_failure');
    assert.equal(r.prepareAttempts, 3);
    assert.match(r.jobLog, /STS did not answer AssumeRole for role "deployer" .*after 4 attempts/);
    const ids = new Set(
      assumeCalls()
        .slice(first)
        .map((c) => c.requestId),
    );
    const printed = [...r.jobLog.matchAll(/\(AWS request id ([^)\s]+)\)/g)].map((m) => m[1]);
    assert.ok(printed.length > 0 && printed.every((id) => ids.has(id)), `request ids of the failed calls in the job log:\n${r.jobLog}`);
    world.emu.faults.clear();
  });

  test('PackedPolicyTooLarge drops the optional session tags and keeps the required ones', async () => {
    world.emu.packedPolicyLimit = 120;
    try {
      const r = await job(703);
      assert.equal(r.status, 'success', r.jobLog);
      const session = world.emu.sessions.filter((s) => s.sessionName === 'gitlab-3-703').pop();
      assert.ok(session);
      assert.deepEqual(Object.keys(session.tags).sort(), ['gitlab:job_id', 'gitlab:project_path']);
    } finally {
      world.emu.packedPolicyLimit = 2048;
    }
  });

  test("session tags are cleaned to STS's character set", async () => {
    const r = await job(704);
    assert.equal(r.status, 'success', r.jobLog);
    const session = world.emu.sessions.filter((s) => s.sessionName === 'gitlab-3-704').pop();
    assert.equal(session?.tags['gitlab:ref'], 'release/2025.1-rc+build');
    assert.equal(session?.tags['gitlab:project_path'], 'group/app');
  });
});
