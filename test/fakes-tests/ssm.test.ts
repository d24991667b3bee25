// SSM GetParameter on JSON 1.1 through the real SSM client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { errorOf, ssm } from './helpers.js';

describe('SSM emulator', () => {
  let emu: AwsEmulator;
  before(async () => {
    emu = await startAwsEmulator();
    emu.putParameter('/jobrole/plain', 'hello');
    emu.putParameter('/jobrole/secret', 's3cr3t-value', 'SecureString');
  });
  after(() => emu.stop());

  test('String parameters come back as stored, with name, type, version and ARN', async () => {
    const r = await ssm(emu).send(new GetParameterCommand({ Name: '/jobrole/plain' }));
    assert.equal(r.Parameter?.Value, 'hello');
    assert.equal(r.Parameter?.Type, 'String');
    assert.equal(r.Parameter?.Version, 1);
    assert.equal(r.Parameter?.ARN, 'arn:aws:ssm:us-east-1:111122223333:parameter/jobrole/plain');
    assert.ok(r.Parameter?.LastModifiedDate instanceof Date);
  });

  test('SecureString is opaque without WithDecryption and plain with it', async () => {
    const hidden = await ssm(emu).send(new GetParameterCommand({ Name: '/jobrole/secret' }));
    assert.equal(hidden.Parameter?.Type, 'SecureString');
    assert.notEqual(hidden.Parameter?.Value, 's3cr3t-value');
    const shown = await ssm(emu).send(new GetParameterCommand({ Name: '/jobrole/secret', WithDecryption: true }));
    assert.equal(shown.Parameter?.Value, 's3cr3t-value');
    const byArn = await ssm(emu).send(new GetParameterCommand({ Name: 'arn:aws:ssm:us-east-1:111122223333:parameter/jobrole/secret', WithDecryption: true }));
    assert.equal(byArn.Parameter?.Value, 's3cr3t-value');
  });

  test('a missing parameter is ParameterNotFound', async () => {
    const e = await errorOf(ssm(emu).send(new GetParameterCommand({ Name: '/jobrole/none' })));
    assert.equal(e.name, 'ParameterNotFound');
    assert.equal(e.status, 400);
  });
});
