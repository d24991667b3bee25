// jobrole serve with the central policy in SSM: roles defined only there, picked up when changed (cached sessions too), used from cache while SSM is down.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNothingLeaked, getCredentials, startServeWorld, type BrokerProcess, type ServeWorld } from './serve-world.js';

const PARAM = '/jobrole/roles';
const role = (name: string, extra = '') =>
  `[[roles]]\nname = "${name}"\narn = "arn:aws:iam::111122223333:role/${name}"\n${extra}  [roles.allow]\n  projects = ["group/*"]\n`;
let world: ServeWorld;
let broker: BrokerProcess;
const brokers: BrokerProcess[] = [];
const tokens: string[] = [];

before(async () => {
  // slots = 1: a central instance-profile role is then valid for the driver, and the broker alone drops it.
  world = await startServeWorld({ roles: '', driver: 'slots = 1', extra: `[policy]\nssm_parameter = "${PARAM}"\ncache_ttl = "1s"\n` });
  for (const n of ['fleet-deployer', 'fleet-two']) world.emu.addRole({ arn: world.roleArn(n), trust: { principals: [world.emu.hostRoleArn] } });
  world.emu.putParameter(PARAM, role('fleet-deployer'), 'SecureString');
  broker = await world.start();
  brokers.push(broker);
});
after(async () => {
  await assertNothingLeaked(world, brokers, tokens);
  await world.close();
});

const ask = async (b: BrokerProcess, name: string, jobId: number, project = 'group/app') => {
  const t = await world.token({ jobId, projectId: 8, projectPath: project });
  tokens.push(t);
  return getCredentials(`${b.url}/v1/credentials/${name}`, t);
};

test('a role that exists only in the SSM parameter is granted by its rules', async () => {
  const ok = await ask(broker, 'fleet-deployer', 1001);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.RoleArn, world.roleArn('fleet-deployer'));
  const denied = await ask(broker, 'fleet-deployer', 1002, 'other/app');
  assert.equal(denied.status, 403);
  assert.match(String(denied.body.message), /projects: project "other\/app" does not match "group\/\*"/);
});

test('a changed parameter is picked up after cache_ttl without a restart; an instance-profile role in it is dropped with a warning', async () => {
  world.emu.putParameter(
    PARAM,
    `${role('fleet-deployer')}${role('fleet-two')}${role('swap', 'strategy = "instance-profile"\ninstance_profile = "swap"\n')}`,
    'SecureString',
  );
  await new Promise((r) => setTimeout(r, 1100));
  let status = 0;
  for (let i = 0; i < 30 && status !== 200; i++) {
    status = (await ask(broker, 'fleet-two', 1003)).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 200, 'the new central role was never served');
  assert.match(broker.stderr(), /central policy: \[\[roles\]\] "swap"\.strategy = "instance-profile": jobrole serve cannot serve it/);
  assert.equal((await ask(broker, 'swap', 1004)).status, 403);
});

test('while SSM fails the running broker keeps its copy, and a restarted one starts from the on-disk copy', async () => {
  world.emu.faults.fail500('GetParameter', 1000);
  try {
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await ask(broker, 'fleet-two', 1005)).status, 200);
    for (let i = 0; i < 40 && !/cannot be read/.test(broker.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(
      broker.stderr(),
      /central policy \(SSM parameter \/jobrole\/roles\) cannot be read \(InternalServerError/,
      'the running broker asked SSM again and fell back',
    );
    assert.equal((await ask(broker, 'fleet-two', 1007)).status, 200);
    const restarted = await world.start();
    brokers.push(restarted);
    const r = await ask(restarted, 'fleet-two', 1006);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(restarted.stderr(), /central policy \(SSM parameter \/jobrole\/roles\) cannot be read .* Using the last good copy/);
  } finally {
    world.emu.faults.clear();
  }
});

test('a session policy tightened in the parameter applies at the next request, not at the cached session renewal', async () => {
  const first = await ask(broker, 'fleet-two', 1010);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const loose = world.emu.credential(String(first.body.AccessKeyId));
  assert.equal(loose?.policy, undefined);
  assert.deepEqual(loose?.policyArns, []);
  const tight = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
  const readOnly = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
  world.emu.putParameter(
    PARAM,
    `${role('fleet-deployer')}${role('fleet-two', `session_policy = '${tight}'\npolicy_arns = ["${readOnly}"]\n`)}`,
    'SecureString',
  );
  let answer = first;
  for (let i = 0; i < 40 && answer.body.AccessKeyId === first.body.AccessKeyId; i++) {
    await new Promise((r) => setTimeout(r, 100));
    answer = await ask(broker, 'fleet-two', 1010);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }
  assert.notEqual(answer.body.AccessKeyId, first.body.AccessKeyId, 'the job kept its cached session under the looser policy');
  const issued = world.emu.credential(String(answer.body.AccessKeyId));
  assert.equal(issued?.policy, tight);
  assert.deepEqual(issued?.policyArns, [readOnly]);
  assert.equal((await ask(broker, 'fleet-two', 1010)).body.AccessKeyId, answer.body.AccessKeyId, 'the new session is cached in turn');
});
