// A serialisable recipe for a job's session, so prepare and the refreshing broker obtain it the same way.

import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsSection } from '../config/types.js';
import { realAwsServices, type AwsServices } from '../aws/services.js';
import { BuildFailure } from '../core/exit-codes.js';
import type { IssuedSession } from '../core/credential-types.js';
import type { SessionTag } from './session.js';
import type { VerifiedClaims } from '../identity/claims.js';
import type { InstanceProfileSourceSpec } from './instance-profile-source.js';

export interface SessionSpec {
  strategy: 'assume-role' | 'web-identity';
  aws: AwsSection;
  roleName: string;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  sourceIdentity?: string;
  tags?: { required: SessionTag[]; optional: SessionTag[] };
  policy?: string;
  policyArns?: string[];
  /** web-identity only: the job's verified ID token (a secret; travels only over the broker's stdin). */
  webIdentityToken?: string;
  claims?: VerifiedClaims;
}

/** Any recipe the endpoint can refresh from: an STS call, or the instance profile IMDS serves. */
export type SourceSpec = SessionSpec | InstanceProfileSourceSpec;

/** Obtains one fresh session per the spec. */
export async function sessionFromSpec(spec: SourceSpec, aws: Pick<AwsServices, 'sts'> = realAwsServices): Promise<IssuedSession> {
  if (spec.strategy === 'instance-profile') {
    const [{ instanceProfileSession }, { createImdsClient }, { nodeHttpFetch }] = await Promise.all([
      import('./instance-profile-source.js'),
      import('../aws/imds.js'),
      import('../aws/http-fetch.js'),
    ]);
    // node:http, not the global fetch: the broker runs without WebAssembly, which fetch needs.
    return instanceProfileSession(spec, createImdsClient({ endpoint: spec.imdsEndpoint, fetch: nodeHttpFetch }));
  }
  // AssumeRoleWithWebIdentity is unsigned: placeholder credentials keep the SDK off the host's own chain, and one
  // SDK attempt per call, since webIdentitySession does its own bounded retries (IDPCommunicationError included).
  const sts =
    spec.strategy === 'web-identity'
      ? await aws.sts({ ...spec.aws, max_attempts: 1 }, { credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } })
      : await aws.sts(spec.aws);
  return stsSessionFromSpec(spec, sts);
}

/** The one mapping of a SessionSpec onto an STS call, with the given client (the driver's, or `jobrole serve`'s shared one). */
export async function stsSessionFromSpec(spec: SessionSpec, sts: STSClient): Promise<IssuedSession> {
  if (spec.strategy === 'web-identity') {
    const { webIdentitySession } = await import('./web-identity.js');
    if (spec.webIdentityToken === undefined)
      throw new BuildFailure(`role "${spec.roleName}" is assumed with the job's GitLab ID token, and the job supplied none (declare id_tokens: in the job)`);
    return webIdentitySession(
      { sts, maxAttempts: spec.aws.max_attempts },
      {
        roleArn: spec.roleArn,
        sessionName: spec.sessionName,
        durationSeconds: spec.durationSeconds,
        token: spec.webIdentityToken,
        ...(spec.claims !== undefined ? { claims: spec.claims } : {}),
        ...(spec.policy !== undefined ? { policy: spec.policy } : {}),
        ...(spec.policyArns !== undefined ? { policyArns: spec.policyArns } : {}),
      },
    );
  }
  const { assumeRoleSession } = await import('./assume-role.js');
  return assumeRoleSession(
    { sts },
    {
      roleName: spec.roleName,
      roleArn: spec.roleArn,
      sessionName: spec.sessionName,
      durationSeconds: spec.durationSeconds,
      sourceIdentity: spec.sourceIdentity,
      tags: spec.tags,
      policy: spec.policy,
      policyArns: spec.policyArns,
    },
  );
}
