// jobrole serve operations: web identity with no broker credentials, TLS reload on SIGHUP, drain on SIGTERM, refusing bad configs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, copyFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent } from 'node:https';
import { DEBIAN_PYTHON } from './world.js';
import { oidcHost } from './id-token-helpers.js';
import {
  assertNothingLeaked,
  BROKER_AUDIENCE,
  getCredentials,
  jobEnv,
  makeTestCa,
  runClient,
  startServeWorld,
  stsCalls,
  type BrokerProcess,
  type ServeWorld,
} from './serve-world.js';
import { CLI } from './world.js';

const DEPLOYER = `
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
  [roles.allow]
  projects = ["group/app"]
`;

describe('web-identity with a broker that holds no AWS credentials', () => {
  let world: ServeWorld;
  let broker: BrokerProcess;
  const tokens: string[] = [];
  before(async () => {
    world = await startServeWorld({
      // Nothing answers on port 9: the broker has no instance profile, and no AWS_* variables.
      imdsEndpoint: 'http://127.0.0.1:9',
      roles: `
[[roles]]
name = "web"
arn = "arn:aws:iam::111122223333:role/web"
strategy = "web-identity"
  [roles.allow]
  projects = ["group/app"]
${DEPLOYER}`,
    });
    world.emu.addRole({
      arn: world.roleArn('web'),
      trust: { federated: { issuer: world.emu.oidc.issuer, conditions: { StringEquals: { [`${oidcHost(world.emu)}:aud`]: BROKER_AUDIENCE } } } },
    });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    broker = await world.start();
  });
  after(async () => {
    await assertNothingLeaked(world, [broker], tokens);
    await world.close();
  });

  test("boto3 gets the web-identity role with the job's own token; an assume-role role says the broker has no credentials", async () => {
    const token = await world.token({ jobId: 601, projectId: 77 });
    tokens.push(token);
    const from = world.emu.calls.length;
    const env = jobEnv(world, `http://localhost:${broker.port}/v1/credentials/web`, token);
    const py = await runClient(
      DEBIAN_PYTHON,
      ['-c', `import boto3; print(boto3.client('sts', endpoint_url=${JSON.stringify(world.emu.endpoint)}).get_caller_identity()['Arn'])`],
      env,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.equal(py.stdout.trim(), 'arn:aws:sts::111122223333:assumed-role/web/gitlab-77-601');
    const calls = world.emu.calls.slice(from);
    const web = calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity');
    assert.equal(web.length, 1);
    assert.equal(web[0]?.accessKeyId, undefined, 'AssumeRoleWithWebIdentity went unsigned');
    assert.deepEqual(
      calls.filter((c) => c.service === 'imds'),
      [],
    );

    const other = await getCredentials(`${broker.url}/v1/credentials/deployer`, token);
    assert.equal(other.status, 500, JSON.stringify(other.body));
    assert.match(String(other.body.message), /no AWS credentials/);
  });

  test("a trust policy that refuses the token: 403 naming the role and the token's sub and aud", async () => {
    world.emu.addRole({
      arn: world.roleArn('web'),
      trust: { federated: { issuer: world.emu.oidc.issuer, conditions: { StringEquals: { [`${oidcHost(world.emu)}:aud`]: 'something-else' } } } },
    });
    const token = await world.token({ jobId: 602, projectId: 77 });
    tokens.push(token);
    const r = await getCredentials(`${broker.url}/v1/credentials/web`, token);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(String(r.body.message), /trust policy/);
    assert.match(String(r.body.message), /sub="project_path:group\/app/);
  });
});

describe('TLS reload on SIGHUP and drain on SIGTERM', () => {
  let world: ServeWorld;
  let broker: BrokerProcess;
  const tokens: string[] = [];
  before(async () => {
    world = await startServeWorld({ roles: DEPLOYER, tls: true, serve: 'rate_limit = 5000' });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    broker = await world.start();
  });
  after(async () => {
    await assertNothingLeaked(world, [broker], tokens);
    await world.close();
  });

  const peerSubject = (port: number, ca: Buffer): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        const cn = s.getPeerCertificate().subject?.CN;
        s.end();
        resolve(String(cn));
      });
      s.on('error', reject);
    });

  test('a new certificate is served after SIGHUP while a client loop sees no failed request; a broken pair is refused and the old one kept', async () => {
    const ca = readFileSync(world.ca?.caPath ?? '');
    assert.equal(await peerSubject(broker.port, ca), 'localhost server');
    const token = await world.token({ jobId: 701, projectId: 77 });
    tokens.push(token);
    const url = `${broker.url}/v1/credentials/deployer`;
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2, ca });
    let stop = false;
    const statuses: number[] = [];
    const loop = (async () => {
      let i = 0;
      while (!stop) {
        // Alternate fresh connections (new handshakes) with kept-alive ones.
        const r = await getCredentials(url, token, i++ % 2 === 0 ? { ca } : { agent: keepAlive });
        statuses.push(r.status);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    // Rotate: a new cert + key from the same CA, written over the configured files, then SIGHUP.
    const next = makeTestCa(world.dir, 'rotated');
    copyFileSync(next.certPath, world.ca?.certPath ?? '');
    copyFileSync(next.keyPath, world.ca?.keyPath ?? '');
    broker.child.kill('SIGHUP');
    for (let i = 0; i < 50 && !/TLS certificate reloaded/.test(broker.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(broker.stderr(), /TLS certificate reloaded: .*CN=localhost rotated/);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await loop;
    keepAlive.destroy();
    assert.ok(statuses.length > 20, `only ${statuses.length} requests`);
    assert.deepEqual([...new Set(statuses)], [200], 'no request failed across the reload');
    assert.equal(await peerSubject(broker.port, ca), 'localhost rotated');

    // A key that does not belong to the certificate: refused, the rotated pair stays in service.
    writeFileSync(world.ca?.keyPath ?? '', readFileSync(join(world.dir, 'ca.key')));
    broker.child.kill('SIGHUP');
    for (let i = 0; i < 50 && !/TLS reload failed/.test(broker.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(broker.stderr(), /TLS reload failed, still serving the previous certificate: \[serve\]\.tls_key = .* does not belong to the certificate/);
    assert.equal(await peerSubject(broker.port, ca), 'localhost rotated');
    assert.equal((await getCredentials(url, token, { ca })).status, 200);
  });

  test('SIGTERM lets the in-flight request finish, then exits 0 and accepts no more connections', async () => {
    const ca = readFileSync(world.ca?.caPath ?? '');
    const token = await world.token({ jobId: 702, projectId: 77 });
    tokens.push(token);
    world.emu.faults.delayMs('AssumeRole', 1500);
    const before = stsCalls(world.emu, 'AssumeRole');
    const inflight = getCredentials(`${broker.url}/v1/credentials/deployer`, token, { ca });
    for (let i = 0; i < 100 && stsCalls(world.emu, 'AssumeRole') === before; i++) await new Promise((r) => setTimeout(r, 20));
    broker.child.kill('SIGTERM');
    const r = await inflight;
    world.emu.faults.delayMs('AssumeRole', 0);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await broker.exited, 0);
    assert.match(broker.stderr(), /SIGTERM: draining/);
    await assert.rejects(getCredentials(`${broker.url}/healthz`, undefined, { ca }), /ECONNREFUSED/);
  });
});

describe('configs jobrole serve refuses at start, in one line naming the key', () => {
  let world: ServeWorld;
  before(async () => {
    world = await startServeWorld({ roles: DEPLOYER });
  });
  after(() => world.close());

  const serveWith = async (edit: (toml: string) => string) => {
    const path = join(world.dir, `bad-${Math.random().toString(36).slice(2)}.toml`);
    await writeFile(path, edit(readFileSync(world.configPath, 'utf8')), { mode: 0o600 });
    return runClient(process.execPath, [CLI, 'serve', '--config', path], { PATH: '/usr/bin:/bin' }, 20_000);
  };

  test('plain HTTP on a non-loopback address', async () => {
    const r = await serveWith((t) => t.replace('listen = "127.0.0.1:0"', 'listen = "0.0.0.0:0"'));
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /\[serve\]\.listen = "0\.0\.0\.0:0": without tls_cert\/tls_key .* plain HTTP/);
  });

  test('an instance-profile role', async () => {
    const swap = '\n[[roles]]\nname = "swap"\narn = "arn:aws:iam::111122223333:role/swap"\nstrategy = "instance-profile"\ninstance_profile = "swap"\n';
    // slots = 1 makes the role valid for the driver; the broker refuses it all the same.
    const r = await serveWith((t) => `${t.replace('[driver]\n', '[driver]\nslots = 1\n')}${swap}`);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /\[\[roles\]\] "swap"\.strategy = "instance-profile": jobrole serve cannot serve it/);
  });

  test('only one of tls_cert and tls_key', async () => {
    const r = await serveWith((t) => t.replace('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:0"\ntls_cert = "/nonexistent/cert.pem"'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[serve\]\.tls_key: required because \[serve\]\.tls_cert is set/);
  });
});
