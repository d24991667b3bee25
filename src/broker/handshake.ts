// The message prepare writes to the broker's stdin (never argv or environment) and its validation.

import type { IssuedSession } from '../core/credential-types.js';

export interface BrokerHandshake {
  token: string;
  allowedUids?: number[];
  /** ISO 8601; the broker stops serving and exits at this instant. */
  deadline: string;
  refreshBeforeSeconds: number;
  /** Also ask the source this often (ms); for sources that rotate credentials by themselves (IMDS). */
  pollMs?: number;
  initial: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: string;
    roleArn: string;
    sessionName: string;
    assumedRoleArn?: string;
    sourceIdentity?: string;
  };
  /** Unix socket for the secret feed, in the job's state directory. */
  feedSocketPath: string;
  /** Opaque to the broker: handed to the injected makeSource. */
  sourceSpec: unknown;
}

/** The largest handshake accepted on stdin. */
export const MAX_HANDSHAKE_BYTES = 1024 * 1024;

function fail(field: string, expected: string): never {
  throw new Error(`broker handshake: ${field} must be ${expected}`);
}

function str(o: Record<string, unknown>, key: string, prefix = ''): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') fail(prefix + key, 'a non-empty string');
  return v;
}

function isDate(s: string): boolean {
  return !Number.isNaN(new Date(s).getTime());
}

/** Parses and checks the handshake; error messages name the field, never its value. */
export function parseHandshake(text: string): BrokerHandshake {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('broker handshake: stdin is not one JSON document');
  }
  if (typeof raw !== 'object' || raw === null) fail('handshake', 'a JSON object');
  const o = raw as Record<string, unknown>;
  const token = str(o, 'token');
  const deadline = str(o, 'deadline');
  if (!isDate(deadline)) fail('deadline', 'an ISO 8601 instant');
  const refresh = o.refreshBeforeSeconds;
  if (typeof refresh !== 'number' || !Number.isFinite(refresh) || refresh < 0) fail('refreshBeforeSeconds', 'a number >= 0');
  const pollMs = o.pollMs;
  if (pollMs !== undefined && (typeof pollMs !== 'number' || !Number.isFinite(pollMs) || pollMs < 100)) fail('pollMs', 'a number >= 100');
  const uids = o.allowedUids;
  if (uids !== undefined && (!Array.isArray(uids) || !uids.every((u) => Number.isInteger(u) && (u as number) >= 0))) {
    fail('allowedUids', 'an array of uids');
  }
  if (typeof o.initial !== 'object' || o.initial === null) fail('initial', 'an object');
  const i = o.initial as Record<string, unknown>;
  const initial: BrokerHandshake['initial'] = {
    accessKeyId: str(i, 'accessKeyId', 'initial.'),
    secretAccessKey: str(i, 'secretAccessKey', 'initial.'),
    sessionToken: str(i, 'sessionToken', 'initial.'),
    expiration: str(i, 'expiration', 'initial.'),
    roleArn: str(i, 'roleArn', 'initial.'),
    sessionName: str(i, 'sessionName', 'initial.'),
  };
  if (!isDate(initial.expiration)) fail('initial.expiration', 'an ISO 8601 instant');
  if (typeof i.assumedRoleArn === 'string') initial.assumedRoleArn = i.assumedRoleArn;
  if (typeof i.sourceIdentity === 'string') initial.sourceIdentity = i.sourceIdentity;
  const result: BrokerHandshake = {
    token,
    deadline,
    refreshBeforeSeconds: refresh,
    initial,
    feedSocketPath: str(o, 'feedSocketPath'),
    sourceSpec: o.sourceSpec,
  };
  if (uids !== undefined) result.allowedUids = uids as number[];
  if (pollMs !== undefined) result.pollMs = pollMs;
  return result;
}

export function initialSession(h: BrokerHandshake): IssuedSession {
  const { initial } = h;
  const s: IssuedSession = {
    credentials: {
      accessKeyId: initial.accessKeyId,
      secretAccessKey: initial.secretAccessKey,
      sessionToken: initial.sessionToken,
      expiration: new Date(initial.expiration),
    },
    roleArn: initial.roleArn,
    sessionName: initial.sessionName,
  };
  if (initial.assumedRoleArn !== undefined) s.assumedRoleArn = initial.assumedRoleArn;
  if (initial.sourceIdentity !== undefined) s.sourceIdentity = initial.sourceIdentity;
  return s;
}
