// Policy end to end: refusals are explained build failures with no STS call, and job variables prove nothing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, DEBIAN_AWS, type World } from './world.js';

const ROLES = `
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
  [roles.allow]
  projects = ["group/app"]
  refs = ["main"]
  ref_types = ["branch"]

[[roles]]
name = "secret-other-role"
arn = "arn:aws:iam::111122223333:role/secret-other-role"
  [roles.allow]
  projects = ["hidden/project"]
`;

describe('policy through the driver', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ delivery: 'env', roles: ROLES });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(() => world.close());

  const stsCalls = () => world.emu.calls.filter((c) => c.service === 'sts' && c.action === 'AssumeRole').length;

  test('a role the project may not have is a build failure that explains itself, with no STS call', async () => {
    const before = stsCalls();
    const r = await world.job({
      response: buildJobResponse({ jobId: 501, projectId: 9, projectPath: 'group/other', ref: 'main' }),
      variables: { JOBROLE_ROLE: 'deployer' },
      steps: { script: ['echo should-not-run'] },
    });
    assert.equal(r.status, 'failed');
    assert.equal(r.prepareAttempts, 1, 'a refusal is not retried');
    assert.match(r.jobLog, /role "deployer" \(asked for in JOBROLE_ROLE\) is refused for project "group\/other", branch "main"/);
    assert.match(r.jobLog, /projects: project "group\/other" does not match "group\/app"/);
    assert.doesNotMatch(r.jobLog, /should-not-run\n/);
    assert.doesNotMatch(r.jobLog, /secret-other-role|hidden\/project/, 'nothing about other roles is revealed');
    assert.equal(stsCalls(), before, 'no AssumeRole was made');
    const audit = await world.audit();
    assert.ok(audit.some((a) => a.event === 'decision' && a.outcome === 'deny' && a.job_id === 501));
  });

  test('a job that overrides CI_PROJECT_PATH and CI_COMMIT_REF_NAME gains nothing', async () => {
    const before = stsCalls();
    const r = await world.job({
      response: buildJobResponse({ jobId: 502, projectId: 9, projectPath: 'evil/fork', ref: 'feature' }),
      variables: { JOBROLE_ROLE: 'deployer', CI_PROJECT_PATH: 'group/app', CI_COMMIT_REF_NAME: 'main', CI_PROJECT_ID: '77', CI_COMMIT_REF_PROTECTED: 'true' },
      steps: { script: ['echo "job believes it is $CI_PROJECT_PATH"'] },
    });
    assert.equal(r.status, 'failed');
    assert.match(r.jobLog, /refused for project "evil\/fork", branch "feature"/);
    assert.equal(stsCalls(), before);
  });

  test('an unknown role name is refused without listing the roles that exist', async () => {
    const r = await world.job({
      response: buildJobResponse({ jobId: 503, projectPath: 'group/app', ref: 'main' }),
      variables: { JOBROLE_ROLE: 'admin' },
      steps: { script: ['true'] },
    });
    assert.equal(r.status, 'failed');
    assert.match(r.jobLog, /no role named "admin" is configured on this runner/);
    assert.doesNotMatch(r.jobLog, /secret-other-role|deployer/);
  });

  test('a job that asks for no role gets no AWS credentials at all', async () => {
    const r = await world.job({
      response: buildJobResponse({ jobId: 504, projectPath: 'group/app', ref: 'main' }),
      steps: {
        script: [
          'env | grep -c "^AWS_" || true',
          `${DEBIAN_AWS} sts get-caller-identity --endpoint-url "${world.emu.endpoint}" && echo GOT-CREDS || echo NO-CREDS`,
        ],
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(r.jobLog, /no AWS role requested/);
    assert.match(r.jobLog, /^NO-CREDS$/m);
  });

  test("env delivery warns when the credentials expire before the job's timeout", async () => {
    const r = await world.job({
      response: buildJobResponse({ jobId: 507, projectPath: 'group/app', ref: 'main', timeout: 7200 }),
      variables: { JOBROLE_ROLE: 'deployer' },
      steps: { script: ['true'] },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(
      r.jobLog,
      /these credentials expire at \S+, before the job's timeout, and env delivery cannot renew them: for longer jobs use delivery = "endpoint"/,
    );
  });

  test('a tag ref does not satisfy ref_types = ["branch"]', async () => {
    const r = await world.job({
      response: buildJobResponse({ jobId: 505, projectPath: 'group/app', ref: 'main', refType: 'tag' }),
      variables: { JOBROLE_ROLE: 'deployer' },
      steps: { script: ['true'] },
    });
    assert.equal(r.status, 'failed');
    assert.match(r.jobLog, /ref_types: ref type "tag" is not one of "branch"/);
  });

  test('job variables that would override the issued credentials are refused by default', async () => {
    const r = await world.job({
      response: buildJobResponse({ jobId: 506, projectPath: 'group/app', ref: 'main' }),
      variables: { JOBROLE_ROLE: 'deployer', AWS_ACCESS_KEY_ID: 'AKIAPASTEDSTATICKEY1', AWS_SECRET_ACCESS_KEY: 'pasted-secret-value-that-must-not-show' },
      steps: { script: ['true'] },
    });
    assert.equal(r.status, 'failed');
    assert.match(r.jobLog, /defines AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in its CI variables/);
    assert.doesNotMatch(r.jobLog, /pasted-secret-value-that-must-not-show/);
  });
});
