// Append-only JSON-lines audit log: one write() per event so concurrent jobs never interleave or tear lines.

import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

export type AuditEvent = 'decision' | 'issue' | 'refresh' | 'restore' | 'scrub';

export interface AuditRecord {
  event: AuditEvent;
  job_id?: number;
  job_key?: string;
  project?: string;
  project_id?: number;
  /** Only when GitLab sent one; undefined is dropped from the line. */
  pipeline_id?: number | undefined;
  ref?: string;
  role?: string;
  role_arn?: string;
  session_name?: string;
  source_identity?: string;
  expiration?: string;
  access_key_id?: string;
  outcome?: string;
  detail?: string;
  [key: string]: unknown;
}

/** Keys that must never reach the audit log, whatever a caller passes. */
const FORBIDDEN = /secret|token|password|session_token|credential/i;

export function auditLine(record: AuditRecord, now: Date = new Date()): string {
  const clean: Record<string, unknown> = { time: now.toISOString() };
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined || FORBIDDEN.test(k)) continue;
    // Only flat values: a nested object could smuggle a secret past the key filter.
    if (typeof v === 'string') clean[k] = v.slice(0, 2000);
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) clean[k] = v;
  }
  return `${JSON.stringify(clean)}\n`;
}

export interface AuditLog {
  write(record: AuditRecord): Promise<void>;
}

/** Appends to path (created 0600, its directory 0700). Failures are reported to onError, never thrown. */
export function auditLog(path: string, onError: (err: Error) => void = () => undefined): AuditLog {
  return {
    async write(record) {
      try {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        const fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
        try {
          await fh.write(auditLine(record));
        } finally {
          await fh.close();
        }
      } catch (err) {
        onError(err as Error);
      }
    },
  };
}
