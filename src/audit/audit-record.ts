// Reading the audit log back: one line as an AuditRecord, or an Error naming the field that is not in its schema.

import type { AuditEvent, AuditRecord } from './audit-log.js';

type Kind = 'string' | 'number';

const JOB: Record<string, Kind> = {
  job_id: 'number',
  job_key: 'string',
  project: 'string',
  project_id: 'number',
  pipeline_id: 'number',
  ref: 'string',
  namespace_id: 'number',
  root_namespace_id: 'number',
  user_id: 'number',
  role: 'string',
  role_arn: 'string',
  via: 'string',
  detail: 'string',
  outcome: 'string',
};
const SESSION: Record<string, Kind> = { session_name: 'string', source_identity: 'string', expiration: 'string', access_key_id: 'string' };

/** The fields each event may carry (besides event and the time auditLine adds), and its outcomes when closed. */
const SCHEMA: Record<AuditEvent, { fields: Record<string, Kind>; outcomes?: string[] }> = {
  decision: { fields: JOB, outcomes: ['allow', 'deny', 'none'] },
  issue: { fields: { ...JOB, ...SESSION } },
  refresh: { fields: { ...JOB, ...SESSION }, outcomes: ['ok', 'refresh-failed', 'deadline'] },
  restore: { fields: { ...JOB, instance_id: 'string' } },
  scrub: { fields: { ...JOB, ...SESSION }, outcomes: ['ok', 'incomplete'] },
};

/** A parsed audit line as an AuditRecord with its time; throws naming the event or field that does not fit. */
export function parseAuditRecord(value: unknown): AuditRecord & { time: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('audit record: not a JSON object');
  const o = value as Record<string, unknown>;
  const schema = typeof o.event === 'string' && Object.hasOwn(SCHEMA, o.event) ? SCHEMA[o.event as AuditEvent] : undefined;
  if (schema === undefined) throw new Error(`audit record: event ${JSON.stringify(o.event) ?? 'undefined'} is not one of ${Object.keys(SCHEMA).join(', ')}`);
  if (typeof o.time !== 'string' || Number.isNaN(new Date(o.time).getTime())) throw new Error(`audit record (${o.event as string}): time is not a date`);
  for (const [k, v] of Object.entries(o)) {
    if (k === 'event' || k === 'time') continue;
    const kind = schema.fields[k];
    if (kind === undefined) throw new Error(`audit record (${o.event as string}): unknown field ${k}`);
    if (typeof v !== kind) throw new Error(`audit record (${o.event as string}): ${k} is ${v === null ? 'null' : typeof v}, expected a ${kind}`);
  }
  if (o.via !== undefined && o.via !== 'serve') throw new Error(`audit record (${o.event as string}): via is ${JSON.stringify(o.via)}, expected "serve"`);
  if (schema.outcomes !== undefined && o.outcome !== undefined && !schema.outcomes.includes(o.outcome as string)) {
    throw new Error(`audit record (${o.event as string}): outcome ${JSON.stringify(o.outcome)} is not one of ${schema.outcomes.join(', ')}`);
  }
  return o as unknown as AuditRecord & { time: string };
}
