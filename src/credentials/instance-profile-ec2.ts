// EC2 instance-profile association helpers: describe, wait for a settled state, name matching, error codes.

import {
  DescribeIamInstanceProfileAssociationsCommand,
  type EC2Client,
  type IamInstanceProfileAssociation,
  type IamInstanceProfileSpecification,
} from '@aws-sdk/client-ec2';
import { errorCode } from '../aws/errors.js';

export interface Timing {
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  pollIntervalMs: number;
}

/** A live association as the driver cares about it. */
export interface Association {
  associationId: string;
  profileArn: string | undefined;
  state: string;
}

/** The instance's current association (associating, associated or disassociating), or undefined for none. */
export async function describeAssociation(ec2: EC2Client, instanceId: string): Promise<Association | undefined> {
  const out = await ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [
        { Name: 'instance-id', Values: [instanceId] },
        { Name: 'state', Values: ['associating', 'associated', 'disassociating'] },
      ],
    }),
  );
  const live = (out.IamInstanceProfileAssociations ?? []).filter((a: IamInstanceProfileAssociation) =>
    ['associating', 'associated', 'disassociating'].includes(a.State ?? ''),
  );
  // During a replace EC2 may briefly list the old one disassociating and the new one associating: the newer wins.
  const pick = live.find((a) => a.State !== 'disassociating') ?? live[0];
  if (pick?.AssociationId === undefined) return undefined;
  return { associationId: pick.AssociationId, profileArn: pick.IamInstanceProfile?.Arn, state: pick.State ?? '' };
}

/** Describes until the association is no longer in a transition (associating / disassociating) or until `until`. */
export async function settledAssociation(ec2: EC2Client, instanceId: string, until: Date, t: Timing): Promise<Association | undefined> {
  for (;;) {
    const a = await describeAssociation(ec2, instanceId);
    if (a === undefined || a.state === 'associated') return a;
    if (t.now() >= until) {
      throw new Error(`association ${a.associationId} of ${instanceId} is still ${a.state}`);
    }
    await t.sleep(t.pollIntervalMs);
  }
}

/** A configured profile (ARN or bare name) as the EC2 API wants it. */
export function profileSpec(profile: string): IamInstanceProfileSpecification {
  return profile.startsWith('arn:') ? { Arn: profile } : { Name: profile };
}

/** Whether an association's profile ARN is the configured profile (ARN compared whole, a name against the ARN's last segment). */
export function profileMatches(profileArn: string | undefined, profile: string): boolean {
  if (profileArn === undefined) return false;
  return profile.startsWith('arn:') ? profileArn === profile : lastSegment(profileArn) === profile;
}

/** The last path segment of an IAM ARN: arn:aws:iam::1:role/path/name → name. */
export function lastSegment(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  return resource.split('/').pop() ?? resource;
}

/** The account of an ARN (5th field). */
export function accountOf(arn: string): string {
  return arn.split(':')[4] ?? '';
}

const CREDENTIAL_CODES = new Set([
  'AuthFailure',
  'RequestExpired',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);
const DENIED_CODES = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']);

/** 'expired' for credentials AWS no longer accepts, 'denied' for missing permissions, undefined otherwise. */
export function credentialProblem(err: unknown): 'expired' | 'denied' | undefined {
  const code = errorCode(err);
  if (CREDENTIAL_CODES.has(code)) return 'expired';
  if (DENIED_CODES.has(code)) return 'denied';
  return undefined;
}
