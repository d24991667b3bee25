// Unit tests of how the broker bounds sessions by the ID token and maps STS failures to HTTP answers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { denyAfterPolicy, failureOf, sessionLifetime } from '../../src/serve/issue.js';
import { BuildFailure, SystemFailure } from '../../src/core/exit-codes.js';
import type { RoleConfig } from '../../src/config/types.js';

const role: RoleConfig = {
  name: 'deploy',
  arn: 'arn:aws:iam::111122223333:role/deploy',
  strategy: 'assume-role',
  instance_profile: '',
  max_duration: 3600,
  session_policy: '',
  policy_arns: [],
  allow: {},
};

test('sessions never outlive the token: cut to its remaining life, or 900 s with a deny-after policy', () => {
  const now = 1_700_000_000_000;
  const s = now / 1000;
  assert.deepEqual(sessionLifetime(3600, s + 7200, now), { durationSeconds: 3600 });
  assert.deepEqual(sessionLifetime(3600, s + 2400, now), { durationSeconds: 2400 });
  assert.deepEqual(sessionLifetime(3600, s + 900, now), { durationSeconds: 900 });
  assert.deepEqual(sessionLifetime(3600, s + 600, now), { durationSeconds: 900, denyAfter: new Date((s + 600) * 1000) });
});

test("the deny-after statement is added to the role's own session policy", () => {
  const at = new Date('2030-01-01T00:10:00.000Z');
  const alone = JSON.parse(denyAfterPolicy(undefined, at)) as { Statement: Array<Record<string, unknown>> };
  assert.deepEqual(
    alone.Statement.map((x) => x.Effect),
    ['Allow', 'Deny'],
  );
  assert.deepEqual(alone.Statement[1]?.Condition, { DateGreaterThan: { 'aws:CurrentTime': '2030-01-01T00:10:00Z' } });
  const own = JSON.parse(denyAfterPolicy('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}', at)) as {
    Statement: Array<Record<string, unknown>>;
  };
  assert.deepEqual(
    own.Statement.map((x) => `${String(x.Effect)} ${String(x.Action)}`),
    ['Allow s3:*', 'Deny *'],
  );
});

test('failures: throttling after retries and unreachable STS are 503, trust refusals 403, the rest 500', () => {
  const throttled = new SystemFailure('STS did not answer', {
    cause: Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
  });
  assert.equal(failureOf(throttled, role).status, 503);
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', name: 'Error' });
  assert.equal(failureOf(new SystemFailure('x', { cause: Object.assign(refused, { name: 'ECONNREFUSED' }) }), role).status, 503);
  const idp = new SystemFailure('kept failing', { cause: Object.assign(new Error('idp'), { name: 'IDPCommunicationErrorException' }) });
  assert.equal(failureOf(idp, role).status, 503);
  assert.equal(failureOf(new BuildFailure('STS refused AssumeRoleWithWebIdentity ...'), role).status, 403);
  const noCreds = new SystemFailure('cannot assume', {
    cause: Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
  });
  assert.match(failureOf(noCreds, role).message, /no AWS credentials/);
  const denied = failureOf(new SystemFailure('STS refused AssumeRole', { cause: Object.assign(new Error('not authorized'), { name: 'AccessDenied' }) }), role);
  assert.equal(denied.status, 500);
  assert.doesNotMatch(denied.message, /not authorized/, 'the operator-side reason goes to the broker log, not to the job');
});
