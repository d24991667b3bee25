// Recognising AWS SDK errors: codes, one-line messages, missing host credentials and transient failures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STSServiceException } from '@aws-sdk/client-sts';
import { THROTTLING, errorCode, errorMessage, isMissingHostCredentials, isTransient } from '../../src/credentials/aws-errors.js';

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
