// Job variables that would shadow the credentials jobrole delivers: found by name, values never shown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CREDENTIAL_VARIABLES, conflictMessage, conflictingVariables } from '../../src/delivery/conflicts.js';

test('finds CUSTOM_ENV_ forms of credential variables, in a stable order', () => {
  const env = {
    CUSTOM_ENV_AWS_PROFILE: 'prod',
    CUSTOM_ENV_AWS_ACCESS_KEY_ID: 'AKIAPASTED',
    CUSTOM_ENV_AWS_SECRET_ACCESS_KEY: 'pasted-secret',
    CUSTOM_ENV_AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'runner-own',
    CUSTOM_ENV_CI_JOB_ID: '1',
  };
  assert.deepEqual(conflictingVariables(env), ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE']);
});

test("every credential source the SDKs consult before ours is covered; region and the runner's own variables are not", () => {
  for (const name of [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_CONFIG_FILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_AUTHORIZATION_TOKEN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_ROLE_ARN',
  ]) {
    assert.ok((CREDENTIAL_VARIABLES as readonly string[]).includes(name), name);
    assert.deepEqual(conflictingVariables({ [`CUSTOM_ENV_${name}`]: '' }), [name], 'an empty value still counts');
  }
  assert.deepEqual(conflictingVariables({ CUSTOM_ENV_AWS_REGION: 'x', CUSTOM_ENV_AWS_DEFAULT_REGION: 'y', AWS_PROFILE: 'runner' }), []);
  assert.deepEqual(conflictingVariables({}), []);
});

test('conflictMessage names the variables and the fix, never a value', () => {
  const refuse = conflictMessage(['AWS_ACCESS_KEY_ID', 'AWS_PROFILE'], true);
  assert.ok(refuse.startsWith('this job defines AWS_ACCESS_KEY_ID, AWS_PROFILE in its CI variables'));
  assert.ok(refuse.includes('[job].conflicting_variables = "warn"'));
  assert.ok(refuse.includes('Remove them'));
  const warn = conflictMessage(['AWS_PROFILE'], false);
  assert.ok(warn.startsWith('this job defines AWS_PROFILE'), 'the job log adds WARNING: in front');
  assert.ok(warn.includes('may not use its role'));
});
