// End to end through the runner harness: a job gets its role via the Debian AWS CLI, boto3 and the JS SDK, and leaves nothing behind.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, issuedSecrets, filesContaining, DEBIAN_AWS, DEBIAN_PYTHON, type World } from './world.js';
import { MAIN_DEPLOYER_ROLE } from '../harness/roles.js';

const ROLES = MAIN_DEPLOYER_ROLE;

for (const delivery of ['endpoint', 'env', 'file'] as const) {
  describe(`assume-role, delivery ${delivery}`, () => {
    let world: World;
    before(async () => {
      world = await startWorld({ delivery, roles: ROLES });
      world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    });
    after(() => world.close());

    test('awscli and boto3 inside the job see the assumed role and session name', async () => {
      const r = await world.job({
        response: buildJobResponse({ jobId: 4242, projectId: 77, projectPath: 'group/app', ref: 'main' }),
        variables: { JOBROLE_ROLE: 'deployer', AWS_ENDPOINT: world.emu.endpoint },
        steps: {
          script: [
            `${DEBIAN_AWS} sts get-caller-identity --endpoint-url "$AWS_ENDPOINT" --query Arn --output text`,
            `${DEBIAN_PYTHON} -c "import boto3,os; print('boto3', boto3.client('sts', endpoint_url=os.environ['AWS_ENDPOINT']).get_caller_identity()['Arn'])"`,
          ],
        },
      });
      assert.equal(r.status, 'success', r.jobLog);
      const arn = `arn:aws:sts::111122223333:assumed-role/deployer/gitlab-77-4242`;
      assert.match(r.jobLog, new RegExp(`^${arn}$`, 'm'));
      assert.match(r.jobLog, new RegExp(`^boto3 ${arn}$`, 'm'));
      const secrets = issuedSecrets(world.emu);
      assert.ok(secrets.length > 0);
      for (const s of secrets) assert.ok(!r.jobLog.includes(s), 'a secret reached the job log');
      assert.deepEqual(await filesContaining(world, secrets), [], 'a secret was left on disk after cleanup');
      const session = world.emu.sessions.find((s) => s.sessionName === 'gitlab-77-4242');
      assert.equal(session?.sourceIdentity, 'gitlab-job-4242');
      assert.equal(session?.tags['gitlab:project_path'], 'group/app');
    });
  });
}
