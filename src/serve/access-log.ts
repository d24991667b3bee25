// One JSON line per request on stdout: status, role, project, job id, latency — never a token or a credential.

export interface AccessEntry {
  status: number;
  method: string;
  /** "credentials", "healthz" or "other": never the raw path (a misconfigured client could put a token there). */
  route: string;
  role?: string;
  project?: string;
  job_id?: number;
  /** Cache outcome (hit, issued, ...) or the error code answered. */
  outcome?: string;
  ms: number;
  remote?: string;
}

export type AccessLog = (entry: AccessEntry) => void;

function accessLine(entry: AccessEntry, now: Date = new Date()): string {
  return `${JSON.stringify({ time: now.toISOString(), ...entry, ms: Math.round(entry.ms * 100) / 100 })}\n`;
}

/** Writes to a stream (stdout under systemd goes to the journal). */
export function streamAccessLog(stream: NodeJS.WritableStream): AccessLog {
  return (entry) => void stream.write(accessLine(entry));
}
