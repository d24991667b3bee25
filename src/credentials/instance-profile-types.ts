// The baseline-credentials record the instance-profile strategy needs to undo a swap, and its (de)serialisation.

import type { AwsCredentials } from '../core/credential-types.js';
import { baselineCredentials } from '../state/state-schema.js';

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

/** Reads a persisted record back (JSON.parse output) with state.json's schema; throws naming the first bad field. */
export function parseBaseline(value: unknown): BaselineCredentials {
  try {
    const b = baselineCredentials(value, 'baseline');
    return { ...b, roleName: b.roleName };
  } catch (err) {
    throw new Error(`baseline credentials record: ${(err as Error).message}`, { cause: err });
  }
}
