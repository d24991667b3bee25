// Prepare's decision path with fake services: none, allow, deny and conflicts; audit records; undo on every failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildFailure } from '../../src/core/exit-codes.js';
import { prepareStage } from '../../src/stages/prepare.js';
import { slotHolders } from '../../src/state/slots.js';
import { fakeWorld, onlyState } from './fake-services.js';
import { configured } from './configured.js';

test('no role requested and no default role: decision "none" audited, nothing obtained, the job prepared without AWS', async (t) => {
  const w = await fakeWorld(t);
  await prepareStage(w.svc, await configured(w));
  assert.deepEqual(w.rec.calls, [], 'no strategy, no delivery');
  const decision = w.rec.audit.find((r) => r.event === 'decision');
  assert.equal(decision?.outcome, 'none');
  assert.match(decision?.detail ?? '', /no role requested in JOBROLE_ROLE/);
  const state = await onlyState(w);
  assert.equal(state?.phase, 'prepared');
  assert.equal(state?.role, undefined);
  assert.deepEqual(state?.jobEnv, {});
});

test("an allowed role: the role's strategy obtains, its delivery hands over, state and audit say which", async (t) => {
  const w = await fakeWorld(t);
  await prepareStage(w.svc, await configured(w, {}, { JOBROLE_ROLE: 'deployer' }));
  assert.deepEqual(w.rec.calls, ['obtain assume-role deployer']);
  const state = await onlyState(w);
  assert.equal(state?.role?.strategy, 'assume-role');
  assert.equal(state?.role?.delivery, 'env', '[job].delivery applies to a role without its own');
  assert.equal(state?.jobEnv['AWS_ACCESS_KEY_ID'], 'ASIAFAKEUNITTEST0001');
  assert.equal(state?.jobEnv['AWS_REGION'], 'us-east-1');
  assert.ok(
    state?.secrets.includes('fake-secret-key-unit-test') && state.secrets.includes('fake-session-token-unit-test'),
    'the session is registered for redaction',
  );
  assert.deepEqual(
    w.rec.audit.map((r) => `${r.event}:${r.outcome}`),
    ['decision:allow', 'issue:env'],
  );
  const issue = w.rec.audit.find((r) => r.event === 'issue');
  assert.equal(issue?.access_key_id, 'ASIAFAKEUNITTEST0001');
  assert.equal(issue?.job_id, 4242);
  assert.ok(!JSON.stringify(w.rec.audit).includes('fake-secret-key'), 'no secret in the audit log');
  assert.ok(w.rec.lines.includes('jobrole: AWS role "deployer" granted'));
});

test('the endpoint delivery: its records (process, token) go into the state', async (t) => {
  const w = await fakeWorld(t, { delivery: 'endpoint' });
  await prepareStage(w.svc, await configured(w, {}, { JOBROLE_ROLE: 'deployer' }));
  assert.deepEqual(w.rec.calls, ['obtain assume-role deployer', 'deliver endpoint']);
  const state = await onlyState(w);
  assert.equal(state?.role?.delivery, 'endpoint');
  assert.equal(state?.broker?.pid, 999999);
  assert.ok(state?.secrets.includes('fake-endpoint-token'));
});

test('a denied role: a build failure naming the failed condition, audited "deny", nothing obtained, the job undone', async (t) => {
  const w = await fakeWorld(t);
  const env = await configured(w, { projectPath: 'mallory/app' }, { JOBROLE_ROLE: 'deployer' });
  await assert.rejects(prepareStage(w.svc, env), (err: Error) => err instanceof BuildFailure && /deployer/.test(err.message) && /projects/.test(err.message));
  assert.deepEqual(w.rec.calls, [], 'no strategy ran');
  const decision = w.rec.audit.find((r) => r.event === 'decision');
  assert.equal(decision?.outcome, 'deny');
  assert.match(decision?.detail ?? '', /projects/);
  assert.equal(await onlyState(w), undefined, 'the failed prepare scrubbed its job');
  assert.equal(w.rec.audit.at(-1)?.event, 'scrub');
  assert.equal((await slotHolders(w.svc.layout, 1))[0]?.holder, undefined, 'the slot is free again');
});

test('a role nobody configured is denied the same way', async (t) => {
  const w = await fakeWorld(t);
  await assert.rejects(prepareStage(w.svc, await configured(w, {}, { JOBROLE_ROLE: 'admin' })), BuildFailure);
  assert.deepEqual(w.rec.calls, []);
  assert.equal(w.rec.audit.find((r) => r.event === 'decision')?.outcome, 'deny');
});

test('job variables that would shadow the credentials refuse the job before anything is obtained', async (t) => {
  const w = await fakeWorld(t);
  const env = await configured(w, {}, { JOBROLE_ROLE: 'deployer', AWS_ACCESS_KEY_ID: 'AKIAPASTEDSTATICKEY1' });
  await assert.rejects(prepareStage(w.svc, env), (err: Error) => err instanceof BuildFailure && /AWS_ACCESS_KEY_ID/.test(err.message));
  assert.deepEqual(w.rec.calls, []);
  assert.equal(await onlyState(w), undefined);
});

test('a strategy that fails after recording its undo: prepare fails, and the undo runs before the state goes', async (t) => {
  const w = await fakeWorld(t, { obtainFails: { 'instance-profile': new Error('EC2 refused the swap (fake)') } });
  const env = await configured(w, {}, { JOBROLE_ROLE: 'swapper' });
  await assert.rejects(prepareStage(w.svc, env), /EC2 refused the swap/);
  assert.deepEqual(w.rec.calls, ['obtain instance-profile swapper', 'step restore the instance profile of i-0fake']);
  assert.equal(await onlyState(w), undefined);
  const scrub = w.rec.audit.find((r) => r.event === 'scrub');
  assert.equal(scrub?.outcome, 'ok');
  assert.match(scrub?.detail ?? '', /prepare failed: EC2 refused the swap/);
});

test('an undo that fails while undoing a failed prepare: the prepare error stands, the slot is quarantined, the state kept for gc', async (t) => {
  const w = await fakeWorld(t, {
    obtainFails: { 'instance-profile': new Error('killed mid-swap (fake)') },
    failingSteps: ['restore the instance profile of i-0fake'],
  });
  await assert.rejects(prepareStage(w.svc, await configured(w, {}, { JOBROLE_ROLE: 'swapper' })), /killed mid-swap/);
  const state = await onlyState(w);
  assert.equal(state?.phase, 'scrubbing');
  assert.equal(state?.instanceProfile?.instanceId, 'i-0fake', 'the undo record stays for gc');
  assert.ok(w.rec.warnings.some((l) => /undoing the failed prepare was incomplete/.test(l)));
  assert.equal(w.rec.audit.find((r) => r.event === 'scrub')?.outcome, 'incomplete');
});
