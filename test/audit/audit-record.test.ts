// The audit schema: what each event may carry; a writer cannot invent a field (types), a reader refuses one (parseAuditRecord).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditLine, type AuditRecord } from '../../src/audit/audit-log.js';
import { parseAuditRecord } from '../../src/audit/audit-record.js';

const read = (r: AuditRecord) => parseAuditRecord(JSON.parse(auditLine(r, new Date('2030-01-01T00:00:00Z'))));

test('good records of every event read back as written', () => {
  const records: AuditRecord[] = [
    {
      event: 'decision',
      job_id: 1,
      job_key: '1-0123456789ab',
      project: 'g/p',
      project_id: 7,
      pipeline_id: 9,
      ref: 'main',
      namespace_id: 3,
      role: 'r',
      role_arn: 'arn:aws:iam::1:role/r',
      outcome: 'allow',
      detail: 'default role',
    },
    { event: 'issue', job_id: 1, role: 'r', session_name: 's', expiration: '2030-01-01T01:00:00Z', access_key_id: 'ASIA1', outcome: 'endpoint' },
    { event: 'refresh', job_id: 1, outcome: 'deadline', detail: 'deadline: stopped', via: 'serve' },
    { event: 'restore', job_id: 1, instance_id: 'i-1', outcome: 'ok' },
    { event: 'scrub', job_id: 1, outcome: 'incomplete', detail: 'gc; user: busy' },
  ];
  for (const r of records) assert.deepEqual(read(r), { time: '2030-01-01T00:00:00.000Z', ...r });
});

test('a writer cannot invent an event or a field (checked by the type checker)', () => {
  // @ts-expect-error: not an audit event
  const badEvent: AuditRecord = { event: 'login', job_id: 1 };
  // @ts-expect-error: instance_id belongs to restore records only
  const badField: AuditRecord = { event: 'decision', instance_id: 'i-1' };
  // @ts-expect-error: a scrub is ok or incomplete
  const badOutcome: AuditRecord = { event: 'scrub', outcome: 'maybe' };
  assert.ok(badEvent && badField && badOutcome);
});

test('missing or unknown event, unknown field, wrong type, bad outcome and foreign JSON are refused when read', () => {
  const time = '2030-01-01T00:00:00Z';
  assert.throws(() => parseAuditRecord({ time, job_id: 1 }), /event undefined is not one of decision, issue, refresh, restore, scrub/);
  assert.throws(() => parseAuditRecord({ time, event: 'login' }), /event "login" is not one of/);
  assert.throws(() => parseAuditRecord({ event: 'scrub' }), /time is not a date/);
  assert.throws(() => parseAuditRecord({ time, event: 'decision', instance_id: 'i-1' }), /\(decision\): unknown field instance_id/);
  assert.throws(() => parseAuditRecord({ time, event: 'issue', job_id: '1' }), /job_id is string, expected a number/);
  assert.throws(() => parseAuditRecord({ time, event: 'scrub', outcome: 'maybe' }), /outcome "maybe" is not one of ok, incomplete/);
  assert.throws(() => parseAuditRecord({ time, event: 'issue', via: 'cron' }), /via is "cron", expected "serve"/);
  assert.throws(() => parseAuditRecord(['decision']), /not a JSON object/);
  assert.throws(() => parseAuditRecord({ name: 'left-pad', version: '1.3.0' }), /event undefined/);
});
