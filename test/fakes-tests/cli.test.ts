// The emulator speaks the wire protocols other SDKs use: awscli 2 and boto3, plus the standalone launcher.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { cleanEnv, fromSts, sts } from './helpers.js';

const run = promisify(execFile);
const AWS = '/usr/bin/aws';
const PY = '/usr/bin/python3';

describe('other clients against the emulator', () => {
  let emu: AwsEmulator;
  const role = 'arn:aws:iam::111122223333:role/cli';

  before(async () => {
    emu = await startAwsEmulator();
    emu.addRole({ arn: role });
    emu.putParameter('/cli/secret', 'from-ssm', 'SecureString');
  });
  after(() => emu.stop());

  test('aws sts get-caller-identity with assumed-role credentials in the environment', async () => {
    const r = await sts(emu).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'awscli' }));
    const c = fromSts(r.Credentials);
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, AWS_SESSION_TOKEN: c.sessionToken ?? '' });
    const { stdout } = await run(AWS, ['sts', 'get-caller-identity', '--endpoint-url', emu.endpoint, '--output', 'json'], { env, timeout: 30_000 });
    assert.equal((JSON.parse(stdout) as { Arn: string }).Arn, 'arn:aws:sts::111122223333:assumed-role/cli/awscli');
  });

  test('awscli with a wrong secret fails with SignatureDoesNotMatch', async () => {
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: emu.host.accessKeyId, AWS_SECRET_ACCESS_KEY: 'x'.repeat(40) });
    const err = await run(AWS, ['sts', 'get-caller-identity', '--endpoint-url', emu.endpoint], { env, timeout: 30_000 }).then(
      () => undefined,
      (e: { stderr: string; code: number }) => e,
    );
    assert.ok(err !== undefined, 'awscli must fail');
    assert.match(err.stderr, /SignatureDoesNotMatch/);
  });

  test('boto3 with IMDS host credentials: STS chaining cap, EC2 describe, SSM SecureString', async () => {
    const script = [
      'import boto3, json, os, botocore.exceptions as be',
      'ep = os.environ["EMU"]',
      's = boto3.client("sts", endpoint_url=ep)',
      'out = {"arn": s.get_caller_identity()["Arn"]}',
      'try:',
      '    s.assume_role(RoleArn=os.environ["ROLE"], RoleSessionName="boto", DurationSeconds=7200)',
      'except be.ClientError as e:',
      '    out["chain"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]',
      'a = boto3.client("ec2", endpoint_url=ep).describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]',
      'out["assoc"] = [x["State"] for x in a]',
      'out["param"] = boto3.client("ssm", endpoint_url=ep).get_parameter(Name="/cli/secret", WithDecryption=True)["Parameter"]["Value"]',
      'print(json.dumps(out))',
    ].join('\n');
    const env = cleanEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: emu.imdsEndpoint + '/', EMU: emu.endpoint, ROLE: role });
    const { stdout } = await run(PY, ['-c', script], { env, timeout: 30_000 });
    assert.deepEqual(JSON.parse(stdout), {
      arn: `arn:aws:sts::111122223333:assumed-role/jobrole-host/${emu.instanceId}`,
      chain: ['ValidationError', 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.'],
      assoc: ['associated'],
      param: 'from-ssm',
    });
  });
});

describe('scripts/emulator.ts', () => {
  test('prints its URLs as JSON, serves STS, and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/emulator.ts', '--scale', '0.5'], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const info = JSON.parse(line) as {
        endpoint: string;
        imdsEndpoint: string;
        oidcIssuer: string;
        host: { accessKeyId: string; secretAccessKey: string; arn: string };
      };
      assert.match(info.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(info.imdsEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      const env = cleanEnv({ AWS_ACCESS_KEY_ID: info.host.accessKeyId, AWS_SECRET_ACCESS_KEY: info.host.secretAccessKey });
      const { stdout } = await run(AWS, ['sts', 'get-caller-identity', '--endpoint-url', info.endpoint], { env, timeout: 30_000 });
      assert.equal((JSON.parse(stdout) as { Arn: string }).Arn, info.host.arn);
      const conf = await fetch(`${info.oidcIssuer}/.well-known/openid-configuration`);
      assert.equal(conf.status, 200);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
