// jobrole serve caching: one STS call per (job, role) however often or concurrently it is asked; refresh; short tokens; two instances.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { CLIENT_STS } from './id-token-helpers.js';
import { DEBIAN_PYTHON } from './world.js';
import { assertNothingLeaked, getCredentials, jobEnv, runClient, startServeWorld, stsCalls, type BrokerProcess, type ServeWorld } from './serve-world.js';

const ROLES = `
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
max_duration = "15m"
  [roles.allow]
  projects = ["group/app"]
`;

describe('jobrole serve caching and refresh', () => {
  let world: ServeWorld;
  let broker: BrokerProcess;
  const tokens: string[] = [];
  const mint = async (jobId: number, extra: Record<string, unknown> = {}, opts: Parameters<ServeWorld['token']>[2] = {}) => {
    const t = await world.token({ jobId, projectId: 77 }, extra, opts);
    tokens.push(t);
    return t;
  };
  const url = () => `${broker.url}/v1/credentials/deployer`;

  before(async () => {
    // 900 s sessions live 18 s: refresh (at half-life, as refresh_before = 60s is longer) happens every ~9 s.
    world = await startServeWorld({ roles: ROLES, emulator: { credentialLifetimeScale: 0.02 }, job: 'refresh_before = "60s"', serve: 'rate_limit = 50' });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    broker = await world.start();
  });
  after(async () => {
    await assertNothingLeaked(world, [broker], tokens);
    await world.close();
  });

  test('30 requests of one job cost one AssumeRole', async () => {
    const token = await mint(501);
    const before = stsCalls(world.emu, 'AssumeRole');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const keys = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await getCredentials(url(), token, { agent });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      keys.add(String(r.body.AccessKeyId));
    }
    agent.destroy();
    assert.equal(stsCalls(world.emu, 'AssumeRole') - before, 1);
    assert.equal(keys.size, 1);
  });

  test('20 concurrent first requests of a job share one AssumeRole', async () => {
    const token = await mint(502);
    const before = stsCalls(world.emu, 'AssumeRole');
    world.emu.faults.delayMs('AssumeRole', 300);
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => getCredentials(url(), token)));
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(20).fill(200),
      );
      assert.equal(new Set(answers.map((a) => a.body.AccessKeyId)).size, 1);
    } finally {
      world.emu.faults.delayMs('AssumeRole', 0);
    }
    assert.equal(stsCalls(world.emu, 'AssumeRole') - before, 1);
    const lines = () =>
      broker
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"job_id":502'));
    for (let i = 0; i < 50 && lines().length < 20; i++) await new Promise((r) => setTimeout(r, 50));
    const access = lines().map((l) => JSON.parse(l) as { outcome: string });
    assert.equal(access.filter((a) => a.outcome === 'issued').length, 1);
    assert.equal(access.filter((a) => a.outcome === 'shared').length, 19);
  });

  test('a long client loop with 18-second sessions never fails: the broker renews before expiry', async () => {
    const token = await mint(503);
    const before = stsCalls(world.emu, 'AssumeRole');
    const js =
      `const { STSClient, GetCallerIdentityCommand } = await import(${JSON.stringify(CLIENT_STS)});` +
      `const c = new STSClient({}); const end = Date.now() + 30000; let n = 0; const arns = new Set();` +
      `while (Date.now() < end) { const r = await c.send(new GetCallerIdentityCommand({})); n++; arns.add(r.Arn); await new Promise((res) => setTimeout(res, 250)); }` +
      `console.log("calls", n, [...arns].join(" "));`;
    const r = await runClient(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', js],
      jobEnv(world, `http://127.0.0.1:${broker.port}/v1/credentials/deployer`, token, { AWS_ENDPOINT_URL_STS: world.emu.endpoint }),
      90_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const m = /^calls (\d+) (\S+)$/m.exec(r.stdout);
    assert.ok(m !== null, r.stdout);
    assert.ok(Number(m[1]) > 60, r.stdout);
    assert.equal(m[2], 'arn:aws:sts::111122223333:assumed-role/deployer/gitlab-77-503', 'one identity throughout');
    const renewals = stsCalls(world.emu, 'AssumeRole') - before;
    assert.ok(renewals >= 3 && renewals <= 6, `expected a renewal about every 9 s over 30 s, got ${renewals} AssumeRole calls`);
    const audit = await world.audit();
    assert.match(audit, /"event":"refresh".*"job_id":503/);
  });

  test('a token with less than 15 minutes left: 900 s (STS minimum) and a session policy denying everything after its exp', async () => {
    const token = await mint(504, {}, { expiresIn: 600 });
    const exp = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number };
    const r = await getCredentials(url(), token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(Date.parse(String(r.body.Expiration)) / 1000 <= exp.exp, true, "Expiration is never later than the token's exp");
    const session = world.emu.sessions.filter((s) => s.sessionName === 'gitlab-77-504').at(-1);
    assert.equal(session?.durationSeconds, 900);
    const policy = JSON.parse(session?.policy ?? '{}') as { Statement: Array<{ Effect: string; Condition?: Record<string, Record<string, string>> }> };
    const deny = policy.Statement.find((s) => s.Effect === 'Deny');
    assert.equal(deny?.Condition?.DateGreaterThan?.['aws:CurrentTime'], new Date(exp.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  test('a token with 40 minutes left gets a session of at most 40 minutes (never past the token)', async () => {
    const token = await mint(505, {}, { expiresIn: 2400 });
    // max_duration 15m: the role's limit wins; a role allowing 1 h would get the token's 2400 s.
    const r = await getCredentials(url(), token);
    assert.equal(r.status, 200);
    const session = world.emu.sessions.filter((s) => s.sessionName === 'gitlab-77-505').at(-1);
    assert.equal(session?.durationSeconds, 900);
    assert.equal(session?.policy, undefined, 'no deny-after policy when the session ends before the token');
  });

  test('two instances serve the same job correctly, each with its own cache', async () => {
    const second = await world.start();
    try {
      const token = await mint(506);
      const before = stsCalls(world.emu, 'AssumeRole');
      for (let i = 0; i < 10; i++) {
        const b = i % 2 === 0 ? broker : second;
        const r = await getCredentials(`${b.url}/v1/credentials/deployer`, token);
        assert.equal(r.status, 200);
      }
      assert.equal(stsCalls(world.emu, 'AssumeRole') - before, 2, 'one session per instance');
      const env = jobEnv(world, `http://127.0.0.1:${second.port}/v1/credentials/deployer`, token);
      const py = await runClient(
        DEBIAN_PYTHON,
        ['-c', `import boto3; print(boto3.client('sts', endpoint_url=${JSON.stringify(world.emu.endpoint)}).get_caller_identity()['Arn'])`],
        env,
      );
      assert.equal(py.stdout.trim(), 'arn:aws:sts::111122223333:assumed-role/deployer/gitlab-77-506', py.stderr);
      await assertNothingLeaked(world, [broker, second], tokens);
    } finally {
      await second.stop();
    }
  });
});
