// state.json's schema: a good record passes (old files without the newer optional fields too); a missing field, a
// wrong type, foreign JSON or a truncated file is a RecordError naming the field, and readJobState a SystemFailure naming the file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJobState, parseJobStateText, RecordError } from '../../src/state/state-schema.js';
import { readJobState, stateLayout, writeJobState } from '../../src/state/job-store.js';
import { SystemFailure } from '../../src/core/exit-codes.js';
import { parseBaseline } from '../../src/credentials/instance-profile-types.js';
import { KEY, sampleState } from './state-fixture.js';
import type { JobState } from '../../src/state/types.js';

const full = () => ({
  ...sampleState(),
  isolation: 'users' as const,
  user: { name: 'jobrole-1', uid: 61001, gid: 61001, home: '/home/jobrole-1' },
  broker: { pid: 10, startTime: '99', port: 4000, feedSocket: '/var/lib/jobrole/jobs/x/feed.sock' },
  sandbox: { initPid: 11, startTime: '100', cgroup: '/sys/fs/cgroup/jobrole/x' },
  instanceProfile: {
    instanceId: 'i-0123',
    baselineProfileArn: 'arn:aws:iam::1:instance-profile/base',
    baselineAssociationId: 'a-1',
    jobAssociationId: undefined,
    jobProfile: 'job',
  },
  instanceProfileBaseline: { roleName: 'base', accessKeyId: 'AKIA', secretAccessKey: 's', sessionToken: 't', expiration: '2030-01-01T00:00:00Z' },
  scrubber: { pid: 12, startTime: undefined },
});

function rejects(value: unknown, field: string, problem: RegExp): void {
  assert.throws(
    () => parseJobState(value),
    (err: unknown) => {
      assert.ok(err instanceof RecordError, String(err));
      assert.equal(err.field, field);
      assert.match(err.problem, problem);
      return true;
    },
  );
}

test('a complete record passes through a JSON round trip unchanged', () => {
  const state = full();
  const back = parseJobState(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(back, JSON.parse(JSON.stringify(state)));
});

test('a record of an older build (no sandbox, broker, scrubber, pipelineId, startTime) still reads', () => {
  const old = JSON.parse(JSON.stringify(sampleState())) as { job: Partial<JobState['job']>; runner: Partial<JobState['runner']> };
  delete old.job.pipelineId;
  delete old.runner.startTime;
  const back = parseJobState(old);
  assert.equal(back.job.pipelineId, undefined);
  assert.equal(back.sandbox, undefined);
  assert.equal(back.runner.startTime, undefined);
});

test('unknown extra fields (a newer writer) are kept; an optional null becomes absent', () => {
  const back = parseJobState({ ...sampleState(), futureField: 1, sandbox: null }) as unknown as Record<string, unknown>;
  assert.equal(back.futureField, 1);
  assert.ok(!('sandbox' in back));
});

test('a missing required field is named', () => {
  const { deadline: _d, ...rest } = sampleState();
  rejects(rest, 'deadline', /undefined, expected a string/);
  const s = sampleState() as { job: Partial<JobState['job']> };
  delete s.job.projectId;
  rejects(s, 'job.projectId', /expected a whole number/);
});

test('a wrong type is named, nested and in lists', () => {
  rejects({ ...sampleState(), slot: '1' }, 'slot', /string, expected a whole number/);
  rejects({ ...sampleState(), phase: 'running' }, 'phase', /expected one of configured, prepared, scrubbing/);
  rejects({ ...sampleState(), secrets: ['ok', 7] }, 'secrets[1]', /expected a string/);
  rejects({ ...sampleState(), jobEnv: { A: 1 } }, 'jobEnv.A', /expected a string/);
  rejects({ ...sampleState(), createdAt: 'yesterday' }, 'createdAt', /expected a date/);
  rejects({ ...full(), sandbox: { initPid: 1.5 } }, 'sandbox.initPid', /expected a whole number/);
  rejects({ ...full(), role: { ...sampleState().role, delivery: 'carrier-pigeon' } }, 'role.delivery', /expected one of/);
  rejects({ ...full(), instanceProfileBaseline: { accessKeyId: 'A' } }, 'instanceProfileBaseline.secretAccessKey', /expected a string/);
});

test('foreign JSON, another version and truncated text are refused', () => {
  rejects([1, 2], '', /an array, not a jobrole job state/);
  rejects(null, '', /null/);
  rejects({ name: 'some-package', version: '1.0.0' }, 'version', /expected 1/);
  rejects({ ...sampleState(), version: 2 }, 'version', /expected 1 \(a state file of another jobrole version\?\)/);
  assert.throws(
    () => parseJobStateText(JSON.stringify(sampleState()).slice(0, 50)),
    (e: unknown) => e instanceof RecordError && /not JSON/.test(e.message),
  );
  assert.throws(
    () => parseJobStateText(''),
    (e: unknown) => e instanceof RecordError && /the file is empty/.test(e.message),
  );
});

test('readJobState: a corrupt state.json is a SystemFailure naming the file and the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-schema-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const layout = stateLayout(dir);
  await writeJobState(layout, sampleState());
  assert.deepEqual(await readJobState(layout, KEY), sampleState());
  const file = join(layout.jobs, KEY, 'state.json');
  await writeFile(file, JSON.stringify({ ...sampleState(), files: 'all' }));
  await assert.rejects(readJobState(layout, KEY), (err: unknown) => {
    assert.ok(err instanceof SystemFailure);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /field "files" is string, expected a list/);
    assert.match(err.message, /jobrole gc/);
    return true;
  });
  await mkdir(join(layout.jobs, '1-0123456789ab'), { recursive: true });
  await writeFile(join(layout.jobs, '1-0123456789ab', 'state.json'), '{"version":1,"ke');
  await assert.rejects(readJobState(layout, '1-0123456789ab'), /state\.json is corrupt or not a jobrole job state: it is not JSON/);
});

test('parseBaseline uses the same schema: good, missing field, wrong type, foreign', () => {
  const good = { roleName: 'base', accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T', expiration: '2030-01-01T00:00:00Z' };
  assert.deepEqual(parseBaseline(good), good);
  assert.deepEqual(parseBaseline({ ...good, roleName: null }), { ...good, roleName: undefined });
  assert.throws(() => parseBaseline({ ...good, sessionToken: undefined }), /baseline\.sessionToken is undefined, expected a string/);
  assert.throws(() => parseBaseline({ ...good, expiration: 'soon' }), /baseline\.expiration .* expected a date/);
  assert.throws(() => parseBaseline('x'), /baseline is string, expected an object/);
});

test('a state the version before the sandbox wrote for an instance-profile job still reads, undo record and all', () => {
  // That version delivered instance profiles through the metadata service itself and opened the IMDS fence for the job.
  const old = {
    ...sampleState(),
    isolation: 'users',
    user: { name: 'jobrole-job1', uid: 2001, gid: 2001, home: '/var/lib/jobrole/home/jobrole-job1' },
    role: {
      name: 'legacy',
      arn: 'arn:aws:iam::111122223333:role/legacy',
      strategy: 'instance-profile',
      delivery: 'instance-metadata',
      sessionName: 'gitlab-77-4242',
      expiration: '2030-01-01T01:00:00.000Z',
    },
    instanceProfile: {
      instanceId: 'i-0abc',
      baselineProfileArn: 'arn:aws:iam::111122223333:instance-profile/host',
      baselineAssociationId: 'iip-assoc-1',
      jobAssociationId: 'iip-assoc-2',
      jobProfile: 'ci-legacy',
    },
    instanceProfileBaseline: {
      roleName: 'host',
      accessKeyId: 'ASIAHOSTBASELINE0001',
      secretAccessKey: 's',
      sessionToken: 't',
      expiration: '2030-01-01T06:00:00.000Z',
    },
    imdsOpened: true,
  };
  const back = parseJobStateText(JSON.stringify(old));
  assert.equal(back.role?.delivery, 'instance-metadata');
  assert.equal(back.instanceProfile?.jobAssociationId, 'iip-assoc-2');
  assert.equal(back.instanceProfileBaseline?.roleName, 'host');
});
