// Recognising AWS SDK errors: codes, one-line messages, missing host credentials, transient failures, descriptions, request ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STSServiceException } from '@aws-sdk/client-sts';
import {
  AwsCallFailed,
  THROTTLING,
  backoffMs,
  causeChain,
  retryTransient,
  describeAwsError,
  errorCode,
  errorMessage,
  isMissingHostCredentials,
  isTransient,
  requestIdOf,
} from '../../src/aws/errors.js';

const named = (name: string, message = 'm', extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name }, extra);

test('errorCode prefers Code, then name, then code; ignores the generic "Error"', () => {
  assert.equal(errorCode(new STSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'no' })), 'AccessDenied');
  assert.equal(errorCode(Object.assign(new Error('x'), { Code: 'Throttling' })), 'Throttling');
  assert.equal(errorCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
  assert.equal(errorCode(new Error('plain')), '');
  assert.equal(errorCode('string'), '');
  assert.equal(errorCode(null), '');
  assert.equal(errorCode({ name: 42, code: 'ETIMEDOUT' }), 'ETIMEDOUT');
});

test('errorMessage is the first line, at most 400 characters', () => {
  assert.equal(errorMessage(new Error('first\nsecond')), 'first');
  assert.equal(errorMessage(new Error('x'.repeat(1000))).length, 400);
  assert.equal(errorMessage('plain string'), 'plain string');
  assert.equal(errorMessage(undefined), 'undefined');
});

test('isMissingHostCredentials: the SDK credential chain found nothing', () => {
  assert.ok(isMissingHostCredentials(named('CredentialsProviderError', 'Could not load credentials from any providers')));
  assert.ok(isMissingHostCredentials(new Error('Could not load credentials from any providers')));
  assert.ok(isMissingHostCredentials(new Error('Unable to find a credential provider')));
  assert.ok(!isMissingHostCredentials(named('AccessDenied', 'User is not authorized')));
  assert.ok(!isMissingHostCredentials(named('ExpiredToken', 'The security token included in the request is expired')));
});

test('isTransient: throttling, 5xx and network failures; not client errors', () => {
  for (const code of THROTTLING) assert.ok(isTransient(named(code)), code);
  assert.ok(isTransient(named('Throttling', 'Rate exceeded', { $metadata: { httpStatusCode: 400 } })));
  assert.ok(isTransient(named('InternalFailure', 'x', { $metadata: { httpStatusCode: 500 } })));
  assert.ok(isTransient(named('Whatever', 'x', { $metadata: { httpStatusCode: 503 } })));
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']) assert.ok(isTransient(Object.assign(new Error('x'), { code })), code);
  assert.ok(isTransient(named('TimeoutError')));
  for (const code of ['AccessDenied', 'ValidationError', 'MalformedPolicyDocument', 'ExpiredToken']) {
    assert.ok(!isTransient(named(code, 'x', { $metadata: { httpStatusCode: 400 } })), code);
  }
  assert.ok(!isTransient(new Error('plain')));
});

test('isTransient with extra codes: matched on name and code, and server faults count', () => {
  const idp = new Set(['IDPCommunicationError', 'ENOTFOUND']);
  assert.ok(!isTransient(named('IDPCommunicationError')));
  assert.ok(isTransient(named('IDPCommunicationError'), idp));
  assert.ok(isTransient(Object.assign(new TypeError('fetch failed'), { code: 'ENOTFOUND' }), idp), 'code behind a non-generic name');
  assert.ok(!isTransient(Object.assign(new TypeError('fetch failed'), { code: 'ENOTFOUND' })));
  assert.ok(isTransient(named('Odd', 'x', { $fault: 'server' }), idp));
  assert.ok(!isTransient(named('Odd', 'x', { $fault: 'server' })));
  assert.ok(!isTransient(named('AccessDenied', 'x', { $fault: 'client' }), idp));
});

test('requestIdOf reads $metadata.requestId of SDK errors only', () => {
  const sdk = new STSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { requestId: 'c0ffee-1' }, message: 'no' });
  assert.equal(requestIdOf(sdk), 'c0ffee-1');
  assert.equal(requestIdOf(named('X', 'x', { $metadata: {} })), undefined);
  assert.equal(requestIdOf(named('X', 'x', { $metadata: { requestId: '' } })), undefined);
  assert.equal(requestIdOf(new Error('plain')), undefined);
  assert.equal(requestIdOf(null), undefined);
});

test('describeAwsError: the code unless the message says it, then the request id', () => {
  assert.equal(describeAwsError(named('AccessDenied', 'not authorized')), 'AccessDenied: not authorized');
  assert.equal(describeAwsError(named('AccessDenied', 'AccessDenied: not authorized')), 'AccessDenied: not authorized');
  assert.equal(describeAwsError(new Error('plain')), 'plain');
  assert.equal(describeAwsError('thrown'), 'thrown');
  assert.equal(describeAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), 'connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(describeAwsError(named('AuthFailure', 'bad', { $metadata: { requestId: 'r-1' } })), 'AuthFailure: bad (AWS request id r-1)');
  assert.equal(describeAwsError(named('ValidationError', `first line\n${'body '.repeat(200)}`)), 'ValidationError: first line', 'first line only');
});

test('causeChain follows cause, outermost first, bounded', () => {
  const inner = new Error('inner');
  const outer = new Error('outer', { cause: new Error('middle', { cause: inner }) });
  assert.deepEqual(
    causeChain(outer).map((e) => (e as Error).message),
    ['outer', 'middle', 'inner'],
  );
  const loop: Error & { cause?: unknown } = new Error('loop');
  loop.cause = loop;
  assert.equal(causeChain(loop).length, 5);
  assert.equal(causeChain(loop, 2).length, 2);
  assert.deepEqual(causeChain(undefined), []);
});

test('retryTransient: retries transient errors with backoff up to maxAttempts, never a non-transient one', async () => {
  const throttled = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
  const denied = Object.assign(new Error('not authorized'), { name: 'AccessDenied' });
  const sleeps: number[] = [];
  const policy = { maxAttempts: 3, sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.5 };
  let calls = 0;
  assert.equal(await retryTransient(async () => (++calls < 3 ? Promise.reject(throttled) : 'ok'), policy), 'ok');
  assert.deepEqual(sleeps, [150, 300], 'half the cap plus half of the other half, doubling');
  calls = 0;
  const gaveUp = await retryTransient(async () => {
    calls++;
    throw throttled;
  }, policy).catch((e: unknown) => e);
  assert.ok(gaveUp instanceof AwsCallFailed && gaveUp.attempts === 3 && gaveUp.transient && gaveUp.cause === throttled);
  calls = 0;
  const refused = await retryTransient(async () => {
    calls++;
    throw denied;
  }, policy).catch((e: unknown) => e);
  assert.ok(refused instanceof AwsCallFailed && refused.attempts === 1 && !refused.transient);
  assert.equal(calls, 1, 'a refusal is not retried');
  const idp = Object.assign(new Error('IdP down'), { name: 'IDPCommunicationError' });
  await assert.rejects(
    retryTransient(async () => Promise.reject(idp), { ...policy, maxAttempts: 1 }),
    (e: unknown) => e instanceof AwsCallFailed && !e.transient,
  );
  await assert.rejects(
    retryTransient(async () => Promise.reject(idp), { ...policy, maxAttempts: 1, alsoCodes: new Set(['IDPCommunicationError']) }),
    (e: unknown) => e instanceof AwsCallFailed && e.transient,
  );
  assert.equal(
    backoffMs(20, () => 1),
    10_000,
    'capped at 10 s',
  );
});
