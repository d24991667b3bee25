// What prepare hands the endpoint as its handshake's sourceSpec (the recipe to refresh, where to audit), checked on read.

import type { AwsSection } from '../config/types.js';
import type { VerifiedClaims } from '../identity/claims.js';
import type { SessionSpec, SourceSpec } from '../credentials/session-source.js';
import type { InstanceProfileSourceSpec } from '../credentials/instance-profile-source.js';
import type { SessionTag } from '../credentials/session.js';
import { arrayOf, int, oneOf, optional, RecordError, shape, str } from '../state/state-schema.js';

export interface BrokerSourceSpec {
  spec: SourceSpec;
  audit: { path: string; jobId: number; jobKey: string; project: string; role: string };
  /** The job's state directory: once it is gone (the job was scrubbed), the endpoint has no reason to live. */
  jobDir?: string;
}

const aws = shape<AwsSection>({ region: str, sts_endpoint: str, ec2_endpoint: str, ssm_endpoint: str, imds_endpoint: str, max_attempts: int });
const tag = shape<SessionTag>({ Key: str, Value: str });
// The claims are the verifier's own output, passed through: what refreshing and its messages read is checked.
const claims = (raw: unknown, field: string): VerifiedClaims => {
  shape<{ iss: string; sub: string; exp: number; project_path: string }>({ iss: str, sub: str, exp: int, project_path: str })(raw, field);
  return raw as VerifiedClaims;
};

const stsSpec = shape<SessionSpec>({
  strategy: oneOf('assume-role', 'web-identity'),
  aws,
  roleName: str,
  roleArn: str,
  sessionName: str,
  durationSeconds: int,
  sourceIdentity: optional(str),
  tags: optional(shape<NonNullable<SessionSpec['tags']>>({ required: arrayOf(tag), optional: arrayOf(tag) })),
  policy: optional(str),
  policyArns: optional(arrayOf(str)),
  webIdentityToken: optional(str),
  claims: optional(claims),
});

const instanceProfileSpec = shape<InstanceProfileSourceSpec>({
  strategy: oneOf('instance-profile'),
  imdsEndpoint: str,
  imdsRoleName: str,
  roleArn: str,
  sessionName: str,
  assumedRoleArn: optional(str),
});

const brokerSourceSpec = shape<BrokerSourceSpec>({
  spec: (raw, field) =>
    typeof raw === 'object' && raw !== null && (raw as { strategy?: unknown }).strategy === 'instance-profile'
      ? instanceProfileSpec(raw, field)
      : stsSpec(raw, field),
  audit: shape<BrokerSourceSpec['audit']>({ path: str, jobId: int, jobKey: str, project: str, role: str }),
  jobDir: optional(str),
});

/** The handshake's sourceSpec as a BrokerSourceSpec, or an error naming the first bad field. */
export function parseBrokerSourceSpec(raw: unknown): BrokerSourceSpec {
  try {
    return brokerSourceSpec(raw, 'sourceSpec');
  } catch (err) {
    if (err instanceof RecordError) throw new Error(`the endpoint's handshake: ${err.message}`, { cause: err });
    throw err;
  }
}
