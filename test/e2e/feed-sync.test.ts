// A stage that starts after the endpoint renewed the credentials still masks them: the run stage learns them from the feed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, issuedSecrets, type World } from './world.js';

let world: World;
before(async () => {
  world = await startWorld({
    roles: '[[roles]]\nname = "short"\narn = "arn:aws:iam::111122223333:role/short"\nmax_duration = "15m"\n',
    job: 'refresh_before = "1m"',
    emulator: { credentialLifetimeScale: 0.01 },
  });
  world.emu.addRole({ arn: world.roleArn('short'), trust: { principals: [world.emu.hostRoleArn] } });
});
after(() => world.close());

test("credentials renewed between stages are masked in a later stage's output", async () => {
  const get = 'curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"';
  const r = await world.job({
    response: buildJobResponse({ jobId: 801, projectId: 4, projectPath: 'group/app', ref: 'main' }),
    variables: { JOBROLE_ROLE: 'short' },
    steps: {
      // Wait (silently) until the endpoint serves renewed credentials, then print them from the NEXT stage.
      script: [
        `first=$(${get} | sha256sum); for i in $(seq 60); do now=$(${get} | sha256sum); [ "$now" != "$first" ] && break; sleep 0.5; done; [ "$now" != "$first" ] && echo renewed`,
      ],
      afterScript: [`${get}; echo`],
    },
  });
  assert.equal(r.status, 'success', r.jobLog);
  assert.match(r.jobLog, /^renewed$/m, 'the endpoint renewed the credentials during the job');
  assert.match(r.jobLog, /"SecretAccessKey":"\[MASKED\]"/);
  const secrets = issuedSecrets(world.emu);
  assert.ok(world.emu.sessions.filter((s) => s.sessionName === 'gitlab-4-801').length >= 2, 'at least one renewal');
  for (const s of secrets) assert.ok(!r.jobLog.includes(s), 'a renewed secret reached the job log');
});
