// Strategy assume-role: the AssumeRole request, the optional-tag retry on PackedPolicyTooLarge, and failures an operator can act on.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AssumeRoleCommand,
  ExpiredTokenException,
  MalformedPolicyDocumentException,
  PackedPolicyTooLargeException,
  RegionDisabledException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { assumeRoleSession, type AssumeRoleRequest } from '../../src/credentials/assume-role.js';
import { BuildFailure, SystemFailure } from '../../src/core/exit-codes.js';

const ROLE = 'arn:aws:iam::111122223333:role/deploy-prod';
const REQUIRED = [
  { Key: 'gitlab:project_path', Value: 'group/app' },
  { Key: 'gitlab:job_id', Value: '4242' },
];
const OPTIONAL = [
  { Key: 'gitlab:ref', Value: 'main' },
  { Key: 'gitlab:ref_type', Value: 'branch' },
];
const base: AssumeRoleRequest = { roleName: 'deploy-prod', roleArn: ROLE, sessionName: 'gitlab-77-4242', durationSeconds: 3600 };
const OK = {
  Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret-key', SessionToken: 'session-token', Expiration: new Date('2030-06-01T13:00:00Z') },
  AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/deploy-prod/gitlab-77-4242', AssumedRoleId: 'AROA:gitlab-77-4242' },
};
const meta = (status: number, attempts = 1) => ({ $metadata: { httpStatusCode: status, attempts } });

function setup() {
  const sts = new STSClient({ region: 'us-east-1', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
  return { sts, mock: mockClient(sts) };
}

async function systemFailure(p: Promise<unknown>, ...parts: string[]): Promise<SystemFailure> {
  const err = await p.then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SystemFailure, `expected SystemFailure, got ${String(err)}`);
  assert.ok(!(err instanceof BuildFailure));
  for (const part of parts) assert.ok(err.message.includes(part), `message ${JSON.stringify(err.message)} should include ${JSON.stringify(part)}`);
  return err;
}

describe('assumeRoleSession', () => {
  test('success: sends role, session name, duration, source identity, all tags and policies; returns the session', async () => {
    const { sts, mock } = setup();
    mock.on(AssumeRoleCommand).resolves(OK);
    const s = await assumeRoleSession(
      { sts },
      {
        ...base,
        sourceIdentity: 'gitlab-job-4242',
        tags: { required: REQUIRED, optional: OPTIONAL },
        policy: '{"Version":"2012-10-17","Statement":[]}',
        policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      },
    );
    assert.deepEqual(mock.commandCalls(AssumeRoleCommand)[0]?.args[0].input, {
      RoleArn: ROLE,
      RoleSessionName: 'gitlab-77-4242',
      DurationSeconds: 3600,
      SourceIdentity: 'gitlab-job-4242',
      Tags: [...REQUIRED, ...OPTIONAL],
      Policy: '{"Version":"2012-10-17","Statement":[]}',
      PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
    });
    assert.deepEqual(s, {
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret-key', sessionToken: 'session-token', expiration: new Date('2030-06-01T13:00:00Z') },
      roleArn: ROLE,
      assumedRoleArn: OK.AssumedRoleUser.Arn,
      sessionName: 'gitlab-77-4242',
      sourceIdentity: 'gitlab-job-4242',
      tagKeys: ['gitlab:project_path', 'gitlab:job_id', 'gitlab:ref', 'gitlab:ref_type'],
    });
    assert.equal(mock.calls().length, 1);
  });

  test('without tags, source identity or policies: none of them is sent', async () => {
    const { sts, mock } = setup();
    mock.on(AssumeRoleCommand).resolves(OK);
    const s = await assumeRoleSession({ sts }, { ...base, policy: '', policyArns: [] });
    assert.deepEqual(mock.commandCalls(AssumeRoleCommand)[0]?.args[0].input, { RoleArn: ROLE, RoleSessionName: 'gitlab-77-4242', DurationSeconds: 3600 });
    assert.equal(s.sourceIdentity, undefined);
    assert.equal(s.tagKeys, undefined);
  });

  test('PackedPolicyTooLarge: retried once with only the required tags', async () => {
    const { sts, mock } = setup();
    mock
      .on(AssumeRoleCommand)
      .rejectsOnce(new PackedPolicyTooLargeException({ message: 'Packed policy consumes 104% of allotted space', ...meta(400) }))
      .resolves(OK);
    const s = await assumeRoleSession({ sts }, { ...base, tags: { required: REQUIRED, optional: OPTIONAL } });
    const calls = mock.commandCalls(AssumeRoleCommand);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0]?.args[0].input.Tags, [...REQUIRED, ...OPTIONAL]);
    assert.deepEqual(calls[1]?.args[0].input.Tags, REQUIRED);
    assert.deepEqual(s.tagKeys, ['gitlab:project_path', 'gitlab:job_id'], 'the session reports the tags actually sent');
  });

  test('PackedPolicyTooLarge again without optional tags: SystemFailure saying what to shorten, no third call', async () => {
    const { sts, mock } = setup();
    mock.on(AssumeRoleCommand).rejects(new PackedPolicyTooLargeException({ message: 'Packed policy consumes 130% of allotted space', ...meta(400) }));
    await systemFailure(
      assumeRoleSession({ sts }, { ...base, tags: { required: REQUIRED, optional: OPTIONAL } }),
      'role "deploy-prod" (arn:aws:iam::111122223333:role/deploy-prod)',
      'too large for STS even without optional tags',
      '130%',
      'Shorten session_policy or policy_arns',
    );
    assert.equal(mock.calls().length, 2);
  });

  test('PackedPolicyTooLarge with no optional tags to drop: not retried', async () => {
    const { sts, mock } = setup();
    mock.on(AssumeRoleCommand).rejects(new STSServiceException({ name: 'PackedPolicyTooLarge', $fault: 'client', ...meta(400), message: 'too big' }));
    await systemFailure(assumeRoleSession({ sts }, { ...base, tags: { required: REQUIRED, optional: [] } }), 'too large');
    assert.equal(mock.calls().length, 1);
    mock.reset();
    mock.on(AssumeRoleCommand).rejects(new PackedPolicyTooLargeException({ message: 'too big', ...meta(400) }));
    await systemFailure(assumeRoleSession({ sts }, { ...base, policy: '{}' }), 'too large');
    assert.equal(mock.calls().length, 1);
  });

  test('AccessDenied: SystemFailure naming the role and the trust-policy fix with exactly the permissions used', async () => {
    const { sts, mock } = setup();
    const denied = () =>
      new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        ...meta(403),
        message: 'User: arn:aws:sts::111122223333:assumed-role/runner/i-0abc is not authorized to perform: sts:AssumeRole on resource: ' + ROLE,
      });
    mock.on(AssumeRoleCommand).rejects(denied());
    const full = await systemFailure(
      assumeRoleSession({ sts }, { ...base, sourceIdentity: 'gitlab-job-4242', tags: { required: REQUIRED, optional: [] } }),
      'STS refused AssumeRole for role "deploy-prod" (arn:aws:iam::111122223333:role/deploy-prod)',
      'is not authorized to perform: sts:AssumeRole',
      "Fix the role's trust policy",
      'sts:AssumeRole, sts:SetSourceIdentity and sts:TagSession',
      'the host role needs sts:AssumeRole on the role ARN',
    );
    assert.ok(full.cause !== undefined, 'the SDK error is kept as cause');
    const plain = await systemFailure(assumeRoleSession({ sts }, base), "Fix the role's trust policy");
    assert.ok(!plain.message.includes('SetSourceIdentity') && !plain.message.includes('TagSession'), 'only the permissions this request needs are named');
  });

  test("throttled after the SDK's retries: SystemFailure that says how many attempts and that the runner retries", async () => {
    const { sts, mock } = setup();
    mock.on(AssumeRoleCommand).rejects(new STSServiceException({ name: 'Throttling', $fault: 'client', ...meta(400, 6), message: 'Rate exceeded' }));
    await systemFailure(
      assumeRoleSession({ sts }, base),
      'STS did not answer AssumeRole for role "deploy-prod"',
      'after 6 attempts',
      'Throttling: Rate exceeded',
      'the runner will retry the job',
    );
    assert.equal(mock.calls().length, 1, 'the strategy adds no retries of its own');
  });

  test('missing host credentials: SystemFailure saying the host has none', async () => {
    const { sts, mock } = setup();
    mock.on(AssumeRoleCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await systemFailure(
      assumeRoleSession({ sts }, base),
      'cannot assume role "deploy-prod"',
      'this host has no AWS credentials',
      'Could not load credentials from any providers',
    );
  });

  test('other STS errors each say what to fix', async () => {
    const cases: Array<[Error, string[]]> = [
      [
        new MalformedPolicyDocumentException({ message: 'Syntax errors in policy', ...meta(400) }),
        ['rejected the session policy', 'Syntax errors in policy', 'session_policy / policy_arns'],
      ],
      [new RegionDisabledException({ message: 'STS is not activated', ...meta(403) }), ['STS is not activated in region', 'IAM account settings']],
      [
        new ExpiredTokenException({ message: 'The security token included in the request is expired', ...meta(400) }),
        ["the host's own credentials have expired"],
      ],
      [
        new STSServiceException({
          name: 'ValidationError',
          $fault: 'client',
          ...meta(400),
          message: 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
        }),
        ['STS rejected AssumeRole for role "deploy-prod"', '1 hour session limit'],
      ],
      [
        new STSServiceException({ name: 'SomethingNew', $fault: 'client', ...meta(400), message: 'new' }),
        ['AssumeRole for role "deploy-prod"', 'failed: SomethingNew: new'],
      ],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), ['STS did not answer', 'ECONNREFUSED']],
    ];
    for (const [error, parts] of cases) {
      const { sts, mock } = setup();
      mock.on(AssumeRoleCommand).rejects(error);
      await systemFailure(assumeRoleSession({ sts }, base), ...parts);
    }
  });

  test('an answer without credentials is a SystemFailure', async () => {
    const { sts, mock } = setup();
    mock.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: 'A', SecretAccessKey: '', SessionToken: 't', Expiration: new Date() } });
    await systemFailure(assumeRoleSession({ sts }, base), 'STS answered AssumeRole for role "deploy-prod" without credentials');
  });
});

describe('assumeRoleSession through a real SDK client', () => {
  test('Throttling on the wire is retried by the SDK, then reported with the attempt count', async (t) => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const sts = new STSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      maxAttempts: 2,
      retryMode: 'standard',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'unused' },
    });
    t.after(() => sts.destroy());
    await systemFailure(assumeRoleSession({ sts }, base), 'after 2 attempts', 'Throttling', 'Rate exceeded', 'the runner will retry the job');
    assert.equal(requests, 2);
  });

  test('no host credentials at all: SystemFailure, and nothing reaches STS', async (t) => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(500);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const sts = new STSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      maxAttempts: 1,
      credentials: async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      },
    });
    t.after(() => sts.destroy());
    await systemFailure(assumeRoleSession({ sts }, base), 'this host has no AWS credentials');
    assert.equal(requests, 0);
  });
});
