// Delivery env: the AWS_* variables a job gets, and the secrets registered for redaction.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentialEnv, credentialSecrets, regionEnv } from '../../src/delivery/env.js';

const creds = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/key+1', sessionToken: 'token==', expiration: new Date('2030-06-01T13:00:00Z') };

test('credentialEnv: the four variables every SDK and the CLI read', () => {
  assert.deepEqual(credentialEnv(creds), {
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret/key+1',
    AWS_SESSION_TOKEN: 'token==',
    AWS_CREDENTIAL_EXPIRATION: '2030-06-01T13:00:00.000Z',
  });
});

test('regionEnv sets both region variables', () => {
  assert.deepEqual(regionEnv('eu-west-1'), { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1' });
});

test('credentialSecrets: every secret value of the session (the expiration is not one)', () => {
  assert.deepEqual(credentialSecrets(creds), ['ASIAEXAMPLE', 'secret/key+1', 'token==']);
  const env = credentialEnv(creds);
  for (const [k, v] of Object.entries(env)) {
    if (k !== 'AWS_CREDENTIAL_EXPIRATION') assert.ok(credentialSecrets(creds).includes(v), `${k} is registered for redaction`);
  }
});
