// The web-identity strategy: STS answers mapped to sessions, build failures, retries and system failures.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AssumeRoleWithWebIdentityCommand,
  ExpiredTokenException,
  IDPCommunicationErrorException,
  IDPRejectedClaimException,
  InvalidIdentityTokenException,
  MalformedPolicyDocumentException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { webIdentitySession, type WebIdentityRequest } from '../../src/credentials/web-identity.js';
import { BuildFailure, SystemFailure } from '../../src/core/exit-codes.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwcm9qZWN0X3BhdGg6Z3JvdXAvYXBwIn0.c2lnbmF0dXJlLXNlY3JldC1ieXRlcw';
const ROLE = 'arn:aws:iam::111122223333:role/deploy-prod';
const req: WebIdentityRequest = {
  roleArn: ROLE,
  sessionName: 'gitlab-job-4242',
  durationSeconds: 3600,
  token: TOKEN,
  claims: {
    iss: 'https://gitlab.example.com',
    sub: 'project_path:group/app:ref_type:branch:ref:main',
    aud: 'sts.amazonaws.com',
    exp: 1,
    project_path: 'group/app',
  },
};
const OK = {
  Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'session', Expiration: new Date('2030-06-01T13:00:00Z') },
  AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/deploy-prod/gitlab-job-4242', AssumedRoleId: 'AROA:x' },
};
const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });

function setup() {
  const sts = new STSClient({ region: 'us-east-1', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
  const mock = mockClient(sts);
  const sleeps: number[] = [];
  const deps = {
    sts,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    maxAttempts: 3,
    random: () => 0.5,
  };
  return { mock, deps, sleeps };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => assert.fail('expected failure'),
    (e: Error) => e,
  );
  assert.ok(!err.message.includes(TOKEN), 'message must not contain the token');
  assert.ok(!err.message.includes('c2lnbmF0dXJlLXNlY3JldC1ieXRlcw'), 'message must not contain the signature');
  return err;
}

describe('webIdentitySession', () => {
  test('returns the session and sends the token, role, duration and session policy', async () => {
    const { mock, deps } = setup();
    mock.on(AssumeRoleWithWebIdentityCommand).resolves(OK);
    const s = await webIdentitySession(deps, { ...req, policy: '{"Version":"2012-10-17"}', policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] });
    assert.equal(s.credentials.accessKeyId, 'ASIAEXAMPLE');
    assert.equal(s.credentials.expiration.toISOString(), '2030-06-01T13:00:00.000Z');
    assert.equal(s.assumedRoleArn, OK.AssumedRoleUser.Arn);
    assert.equal(s.roleArn, ROLE);
    const input = mock.commandCalls(AssumeRoleWithWebIdentityCommand)[0]?.args[0].input;
    assert.deepEqual(input, {
      RoleArn: ROLE,
      RoleSessionName: 'gitlab-job-4242',
      WebIdentityToken: TOKEN,
      DurationSeconds: 3600,
      Policy: '{"Version":"2012-10-17"}',
      PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
    });
  });

  for (const [name, make] of [
    ['InvalidIdentityToken', () => new InvalidIdentityTokenException({ message: `Incorrect token audience in ${TOKEN}`, ...meta(400) })],
    ['IDPRejectedClaim', () => new IDPRejectedClaimException({ message: 'Claims rejected', ...meta(403) })],
    [
      'AccessDenied',
      () =>
        new STSServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity', ...meta(403) }),
    ],
  ] as const) {
    test(`${name} is a build failure pointing at the trust policy's sub/aud, without the token`, async () => {
      const { mock, deps, sleeps } = setup();
      mock.on(AssumeRoleWithWebIdentityCommand).rejects(make());
      const err = await failure(webIdentitySession(deps, req));
      assert.ok(err instanceof BuildFailure);
      assert.match(err.message, new RegExp(`role ${ROLE.replace(/[/.]/g, '\\$&')}`));
      assert.match(err.message, /"gitlab\.example\.com:sub" and "gitlab\.example\.com:aud"/);
      assert.match(err.message, /sub="project_path:group\/app:ref_type:branch:ref:main" and aud="sts\.amazonaws\.com"/);
      assert.equal(mock.calls().length, 1, 'not retried');
      assert.deepEqual(sleeps, []);
    });
  }

  test('an expired ID token is a build failure saying so', async () => {
    const { mock, deps } = setup();
    mock.on(AssumeRoleWithWebIdentityCommand).rejects(new ExpiredTokenException({ message: 'Token expired', ...meta(400) }));
    const err = await failure(webIdentitySession(deps, req));
    assert.ok(err instanceof BuildFailure);
    assert.match(err.message, /ID token has expired/);
  });

  test('IdP unreachable then success: retried with growing backoff', async () => {
    const { mock, deps, sleeps } = setup();
    mock
      .on(AssumeRoleWithWebIdentityCommand)
      .rejectsOnce(new IDPCommunicationErrorException({ message: 'IdP unreachable', ...meta(400) }))
      .rejectsOnce(new STSServiceException({ name: 'Throttling', $fault: 'client', message: 'Rate exceeded', ...meta(400) }))
      .resolves(OK);
    const s = await webIdentitySession(deps, req);
    assert.equal(s.credentials.sessionToken, 'session');
    assert.equal(mock.calls().length, 3);
    assert.deepEqual(sleeps, [150, 300]);
  });

  test('throttling or 5xx that persists becomes a retryable system failure after the bounded attempts', async () => {
    const { mock, deps, sleeps } = setup();
    mock.on(AssumeRoleWithWebIdentityCommand).rejects(new STSServiceException({ name: 'InternalError', $fault: 'server', message: 'boom', ...meta(500) }));
    const err = await failure(webIdentitySession(deps, req));
    assert.ok(err instanceof SystemFailure);
    assert.match(err.message, /after 3 attempts/);
    assert.equal(mock.calls().length, 3);
    assert.equal(sleeps.length, 2);
  });

  test("a bad session policy is the operator's fault: system failure, not retried", async () => {
    const { mock, deps } = setup();
    mock.on(AssumeRoleWithWebIdentityCommand).rejects(new MalformedPolicyDocumentException({ message: 'bad policy', ...meta(400) }));
    const err = await failure(webIdentitySession(deps, req));
    assert.ok(err instanceof SystemFailure);
    assert.match(err.message, /MalformedPolicyDocumentException/);
    assert.equal(mock.calls().length, 1);
  });

  test('the call is sent unsigned: no credentials are ever resolved, no Authorization header', async (t) => {
    const seen: { auth: string | undefined; body: string }[] = [];
    const server = createServer((rq, rs) => {
      let body = '';
      rq.on('data', (c: Buffer) => {
        body += c.toString();
      });
      rq.on('end', () => {
        seen.push({ auth: rq.headers.authorization, body });
        rs.writeHead(200, { 'content-type': 'text/xml' });
        rs.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>
<Credentials><AccessKeyId>ASIALOCAL</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-06-01T13:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/deploy-prod/gitlab-job-4242</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    let resolved = 0;
    const sts = new STSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxAttempts: 1,
      credentials: async () => {
        resolved++;
        throw new Error('host credentials must not be used');
      },
    });
    const s = await webIdentitySession({ sts }, req);
    assert.equal(s.credentials.accessKeyId, 'ASIALOCAL');
    assert.equal(resolved, 0);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.auth, undefined);
    assert.match(seen[0]?.body ?? '', /Action=AssumeRoleWithWebIdentity/);
    assert.ok((seen[0]?.body ?? '').includes(`WebIdentityToken=${encodeURIComponent(TOKEN)}`));
    sts.destroy();
  });
});
