// jobrole serve end to end with real clients: Debian's aws CLI and boto3 over plain HTTP on loopback, the JS SDK over HTTPS.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_STS } from './id-token-helpers.js';
import { DEBIAN_AWS, DEBIAN_PYTHON } from './world.js';
import { assertNothingLeaked, jobEnv, runClient, startServeWorld, stsCalls, type BrokerProcess, type ServeWorld } from './serve-world.js';
import { MAIN_DEPLOYER_ROLE } from '../harness/roles.js';

const ROLES = MAIN_DEPLOYER_ROLE;

const ARN = 'arn:aws:sts::111122223333:assumed-role/deployer/gitlab-77-4242';

describe('plain HTTP on loopback: Debian aws CLI and boto3', () => {
  let world: ServeWorld;
  let broker: BrokerProcess;
  before(async () => {
    world = await startServeWorld({ roles: ROLES });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    broker = await world.start();
  });
  after(() => world.close());

  test('both see assumed-role/deployer/gitlab-<project>-<job>, with SourceIdentity and session tags as the driver sets them', async () => {
    const token = await world.token({ jobId: 4242, projectId: 77 });
    // Debian's botocore 1.29 accepts plain-HTTP container URIs only on 127.0.0.1, localhost and 169.254.170.2.
    const env = jobEnv(world, `http://127.0.0.1:${broker.port}/v1/credentials/deployer`, token);
    const cli = await runClient(DEBIAN_AWS, ['sts', 'get-caller-identity', '--endpoint-url', world.emu.endpoint, '--query', 'Arn', '--output', 'text'], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout.trim(), ARN);
    const py = await runClient(
      DEBIAN_PYTHON,
      ['-c', `import boto3; print(boto3.client('sts', endpoint_url=${JSON.stringify(world.emu.endpoint)}).get_caller_identity()['Arn'])`],
      env,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), ARN);
    const sessions = world.emu.sessions.filter((s) => s.sessionName === 'gitlab-77-4242');
    assert.equal(sessions.length, 1, 'both clients were served the one cached session');
    assert.equal(sessions[0]?.sourceIdentity, 'gitlab-job-4242');
    assert.equal(sessions[0]?.tags['gitlab:project_path'], 'group/app');
    assert.equal(sessions[0]?.tags['gitlab:job_id'], '4242');
    assert.equal(sessions[0]?.issuedTo, world.emu.hostRoleArn, "assumed with the broker's own (instance-profile) credentials");
    const audit = await world.audit();
    assert.match(audit, /"event":"decision".*"outcome":"allow"/);
    assert.match(audit, /"event":"issue".*"session_name":"gitlab-77-4242"/);
    await assertNothingLeaked(world, [broker], [token]);
    const access = broker
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const served = access.filter((a) => a.route === 'credentials' && a.status === 200);
    assert.ok(served.length >= 2, broker.stdout());
    assert.equal(served[0]?.job_id, 4242);
    assert.equal(served[0]?.project, 'group/app');
    assert.equal(served[0]?.role, 'deployer');
    assert.equal(typeof served[0]?.ms, 'number');
  });
});

describe('HTTPS with a test CA: the JS SDK', () => {
  let world: ServeWorld;
  let broker: BrokerProcess;
  before(async () => {
    world = await startServeWorld({ roles: ROLES, tls: true });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    broker = await world.start();
  });
  after(() => world.close());

  test("the SDK's default chain finds the broker from the two variables and gets the role", async () => {
    assert.match(broker.url, /^https:/);
    const token = await world.token({ jobId: 4242, projectId: 77 });
    const js =
      `const { STSClient, GetCallerIdentityCommand } = await import(${JSON.stringify(CLIENT_STS)});` +
      `const r = await new STSClient({}).send(new GetCallerIdentityCommand({})); console.log(r.Arn);`;
    const env = jobEnv(world, `https://localhost:${broker.port}/v1/credentials/deployer`, token, {
      NODE_EXTRA_CA_CERTS: world.ca?.caPath ?? '',
      AWS_ENDPOINT_URL_STS: world.emu.endpoint,
    });
    const before = stsCalls(world.emu, 'AssumeRole');
    const r = await runClient(process.execPath, ['--no-warnings', '--input-type=module', '-e', js], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), ARN);
    assert.equal(stsCalls(world.emu, 'AssumeRole') - before, 1);

    // Without the test CA the SDK refuses the broker's certificate: TLS is really in use.
    const untrusted = await runClient(process.execPath, ['--no-warnings', '--input-type=module', '-e', js], { ...env, NODE_EXTRA_CA_CERTS: '' });
    assert.notEqual(untrusted.code, 0);
    assert.doesNotMatch(untrusted.stdout, /assumed-role/);
    await assertNothingLeaked(world, [broker], [token]);
  });
});
