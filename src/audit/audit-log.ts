// Append-only JSON-lines audit log: one write() per event so concurrent jobs never interleave or tear lines.

import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Who the record is about; undefined fields are dropped from the line. */
interface JobFields {
  job_id?: number;
  job_key?: string;
  project?: string;
  project_id?: number;
  /** Only when GitLab sent one. */
  pipeline_id?: number | undefined;
  ref?: string;
  /** Only what the runner sent (>= 18.5 with a GitLab that sends them). */
  namespace_id?: number | undefined;
  root_namespace_id?: number | undefined;
  user_id?: number | undefined;
  role?: string;
  role_arn?: string;
  /** 'serve' when the HTTPS broker (jobrole serve) wrote it; absent for the stages. */
  via?: 'serve';
  detail?: string;
}

/** A session that was handed out (never its secret parts). */
interface SessionFields {
  session_name?: string;
  source_identity?: string;
  expiration?: string;
  access_key_id?: string;
}

/** The one union of what jobrole writes to the audit log: a writer cannot invent an event or a field. */
export type AuditRecord =
  | (JobFields & { event: 'decision'; outcome?: 'allow' | 'deny' | 'none' })
  /** outcome: the delivery (prepare), 'ok' or 'failed' (serve). */
  | (JobFields & SessionFields & { event: 'issue'; outcome?: string })
  | (JobFields & SessionFields & { event: 'refresh'; outcome?: 'ok' | 'refresh-failed' | 'deadline' })
  | (JobFields & { event: 'restore'; instance_id?: string; outcome?: string })
  | (JobFields & SessionFields & { event: 'scrub'; outcome?: 'ok' | 'incomplete' });

export type AuditEvent = AuditRecord['event'];

/** Keys that must never reach the audit log, whatever a caller passes. */
const FORBIDDEN = /secret|token|password|session_token|credential/i;

export function auditLine(record: AuditRecord, now: Date = new Date()): string {
  const clean: Record<string, unknown> = { time: now.toISOString() };
  // The filter stays for callers the type cannot reach (a cast, JavaScript).
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
