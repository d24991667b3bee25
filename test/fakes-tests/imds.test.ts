// IMDSv2: tokens, metadata paths, and host-role credentials the SDKs fetch by themselves and that count as a role session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { cleanEnv, errorOf, sleep, sts } from './helpers.js';

const run = promisify(execFile);

async function token(emu: AwsEmulator, ttl = '60'): Promise<string> {
  const res = await fetch(`${emu.imdsEndpoint}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl } });
  assert.equal(res.status, 200);
  return res.text();
}

async function get(emu: AwsEmulator, path: string, tok?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${emu.imdsEndpoint}${path}`, { headers: tok !== undefined ? { 'x-aws-ec2-metadata-token': tok } : {} });
  return { status: res.status, body: await res.text() };
}

describe('IMDS emulator', () => {
  let emu: AwsEmulator;
  const target = 'arn:aws:iam::111122223333:role/target';

  before(async () => {
    emu = await startAwsEmulator({ region: 'eu-west-1', instanceId: 'i-0123456789abcdef0' });
    emu.addRole({ arn: target, maxSessionDuration: 43200, trust: { principals: [emu.hostRoleArn] } });
  });
  after(() => emu.stop());

  test('IMDSv2 only: no token → 401; the token PUT needs a TTL of 1..21600', async () => {
    assert.equal((await get(emu, '/latest/meta-data/instance-id')).status, 401);
    assert.equal((await get(emu, '/latest/meta-data/instance-id', 'made-up')).status, 401);
    const missing = await fetch(`${emu.imdsEndpoint}/latest/api/token`, { method: 'PUT' });
    assert.equal(missing.status, 400);
    const tooLong = await fetch(`${emu.imdsEndpoint}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21601' } });
    assert.equal(tooLong.status, 400);
  });

  test('a token stops working after its TTL', async () => {
    const t = await token(emu, '1');
    assert.equal((await get(emu, '/latest/meta-data/instance-id', t)).status, 200);
    await sleep(1100);
    assert.equal((await get(emu, '/latest/meta-data/instance-id', t)).status, 401);
  });

  test('instance id, identity document and the host role credentials', async () => {
    const t = await token(emu);
    assert.equal((await get(emu, '/latest/meta-data/instance-id', t)).body, 'i-0123456789abcdef0');
    const doc = JSON.parse((await get(emu, '/latest/dynamic/instance-identity/document', t)).body) as Record<string, string>;
    assert.deepEqual([doc['region'], doc['instanceId'], doc['accountId']], ['eu-west-1', 'i-0123456789abcdef0', '111122223333']);
    const list = await get(emu, '/latest/meta-data/iam/security-credentials/', t);
    assert.equal(list.body, 'jobrole-host');
    const creds = JSON.parse((await get(emu, '/latest/meta-data/iam/security-credentials/jobrole-host', t)).body) as Record<string, string>;
    assert.deepEqual(Object.keys(creds).sort(), ['AccessKeyId', 'Code', 'Expiration', 'LastUpdated', 'SecretAccessKey', 'Token', 'Type']);
    assert.equal(creds['Code'], 'Success');
    assert.match(creds['AccessKeyId'] ?? '', /^ASIA/);
    assert.equal((await get(emu, '/latest/meta-data/iam/security-credentials/other-role', t)).status, 404);
  });

  test('the SDK IMDS provider gets working host credentials, and AssumeRole from them is role chaining', async () => {
    process.env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = emu.imdsEndpoint;
    process.env['AWS_EC2_METADATA_V1_DISABLED'] = 'true';
    const creds = await fromInstanceMetadata({ maxRetries: 0, timeout: 2000 })();
    assert.equal(creds.accessKeyId, emu.hostRoleCredentials()?.accessKeyId);
    const client = sts(emu, creds);
    const id = await client.send(new GetCallerIdentityCommand({}));
    assert.equal(id.Arn, 'arn:aws:sts::111122223333:assumed-role/jobrole-host/i-0123456789abcdef0');
    const e = await errorOf(client.send(new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'job', DurationSeconds: 7200 })));
    assert.equal(e.message, 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    const ok = await client.send(new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'job', DurationSeconds: 3600 }));
    assert.ok(ok.Credentials?.AccessKeyId);
  });

  test("the JS SDK's default chain in a clean process finds the host role through IMDS", async () => {
    const code = `import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
      const r = await new STSClient({}).send(new GetCallerIdentityCommand({}));
      process.stdout.write(r.Arn);`;
    const env = cleanEnv({ AWS_REGION: 'eu-west-1', AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.imdsEndpoint, AWS_ENDPOINT_URL_STS: emu.endpoint });
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { env, cwd: process.cwd(), timeout: 20_000 });
    assert.equal(stdout, 'arn:aws:sts::111122223333:assumed-role/jobrole-host/i-0123456789abcdef0');
  });

  test('with no profile associated the role listing is 404', async () => {
    emu.setInstance({ association: null });
    try {
      const t = await token(emu);
      assert.equal((await get(emu, '/latest/meta-data/iam/security-credentials/', t)).status, 404);
    } finally {
      emu.setInstance({ association: emu.hostProfileArn });
    }
  });

  test('IMDS requests are in the call log', () => {
    assert.ok(emu.calls.some((c) => c.service === 'imds' && c.action === 'PUT /latest/api/token' && c.status === 200));
  });
});
