// The baseline-credentials record the instance-profile strategy needs to undo a swap, and its (de)serialisation.

import type { AwsCredentials } from './types.js';

/**
 * The driver's credentials captured BEFORE the swap, used to sign the restore. Persist it next to the
 * InstanceProfileUndo in the 0600 state: after the swap the metadata service serves the job's role, so
 * these are the only driver credentials left on the host until the baseline profile is back.
 */
export interface BaselineCredentials {
  /** The role the metadata service served before the swap; undefined = the instance had no profile. */
  roleName: string | undefined;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO 8601; restore is impossible with these credentials after this instant. */
  expiration: string;
}

export function toBaseline(roleName: string | undefined, c: AwsCredentials): BaselineCredentials {
  return {
    roleName,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
    expiration: c.expiration.toISOString(),
  };
}

export function fromBaseline(b: BaselineCredentials): AwsCredentials {
  return {
    accessKeyId: b.accessKeyId,
    secretAccessKey: b.secretAccessKey,
    sessionToken: b.sessionToken,
    expiration: new Date(b.expiration),
  };
}

/** Reads a persisted record back (JSON.parse output); throws naming the first bad field. */
export function parseBaseline(value: unknown): BaselineCredentials {
  if (typeof value !== 'object' || value === null) throw new Error('baseline credentials record is not an object');
  const v = value as Record<string, unknown>;
  for (const key of ['accessKeyId', 'secretAccessKey', 'sessionToken', 'expiration'] as const) {
    if (typeof v[key] !== 'string') throw new Error(`baseline credentials record: ${key} is not a string`);
  }
  if (v.roleName !== undefined && v.roleName !== null && typeof v.roleName !== 'string') {
    throw new Error('baseline credentials record: roleName is not a string');
  }
  if (Number.isNaN(new Date(v.expiration as string).getTime())) {
    throw new Error('baseline credentials record: expiration is not a date');
  }
  return {
    roleName: typeof v.roleName === 'string' ? v.roleName : undefined,
    accessKeyId: v.accessKeyId as string,
    secretAccessKey: v.secretAccessKey as string,
    sessionToken: v.sessionToken as string,
    expiration: v.expiration as string,
  };
}
