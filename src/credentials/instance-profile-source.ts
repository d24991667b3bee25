// The instance-profile strategy as a session source for the job's endpoint: the driver (root) reads the swapped
// role's credentials from IMDS, asking for that role by name only, so it never hands the job another role.

import type { InstanceProfileSection } from '../config/types.js';
import type { ImdsClient } from '../aws/imds.js';
import type { IssuedSession, RefreshPlan } from '../core/credential-types.js';

/** What the broker needs to keep reading the job's role from IMDS (no secret in it). */
export interface InstanceProfileSourceSpec {
  strategy: 'instance-profile';
  /** Base URL of the metadata service, as the driver reaches it. */
  imdsEndpoint: string;
  /** The name IMDS serves the job's role under: the last part of the role's ARN. */
  imdsRoleName: string;
  roleArn: string;
  sessionName: string;
  assumedRoleArn?: string;
}

/**
 * The job role's credentials as IMDS has them now. IMDS answers only for the role the instance carries, so
 * if the profile was changed under the job (an operator's restore), this fails rather than serve the host's role.
 */
export async function instanceProfileSession(spec: InstanceProfileSourceSpec, imds: ImdsClient): Promise<IssuedSession> {
  const credentials = await imds.credentials(spec.imdsRoleName);
  return {
    credentials,
    roleArn: spec.roleArn,
    sessionName: spec.sessionName,
    ...(spec.assumedRoleArn !== undefined ? { assumedRoleArn: spec.assumedRoleArn } : {}),
  };
}

/**
 * IMDS renews an instance profile's credentials by itself, well before they expire (AWS: at least five minutes
 * before; in practice about an hour into a six-hour session). So the endpoint asks it again every
 * `rotation_poll_interval`, serves the new key as soon as it appears (and hands it to the redactor), and
 * falls back to asking `refreshBeforeSeconds` before expiry like any other source.
 */
export function instanceProfileRefresh(settings: InstanceProfileSection, refreshBeforeSeconds: number): RefreshPlan {
  return { beforeSeconds: refreshBeforeSeconds, pollMs: settings.rotation_poll_interval * 1000 };
}
