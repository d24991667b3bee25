// The emulator's whole world: roles, issued credentials, sessions, the instance and its profile, parameters, calls.
import { uniqueId } from './ids.js';

export type ConditionMap = Record<string, string | string[]>;

export interface TrustDef {
  /** Role ARNs or IAM user ARNs allowed to call sts:AssumeRole; '*' = any signed caller of the role's account. */
  principals?: string[];
  federated?: { issuer: string; conditions: { StringEquals?: ConditionMap; StringLike?: ConditionMap } };
}

export interface RoleDef {
  arn: string;
  /** Seconds, 3600..43200; default 3600 (as IAM's default). */
  maxSessionDuration?: number;
  /** Absent = any signed caller of the role's account may assume it. */
  trust?: TrustDef;
}

export interface RoleRecord {
  arn: string;
  account: string;
  name: string;
  roleId: string;
  maxSessionDuration: number;
  trust: TrustDef;
}

export type CredentialKind = 'iam-user' | 'instance-profile' | 'assumed-role' | 'web-identity';

/** Everything the emulator issued and will accept a signature from. */
export interface CredentialRecord {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  kind: CredentialKind;
  account: string;
  /** The IAM principal trust policies name: the user ARN or the role ARN. */
  principalArn: string;
  /** What GetCallerIdentity answers. */
  arn: string;
  userId: string;
  issuedAt: number;
  /** Absent = never expires (IAM user keys). */
  expiresAt?: number;
  roleArn?: string;
  sessionName?: string;
  sourceIdentity?: string;
  tags: Record<string, string>;
  transitiveTagKeys: string[];
  policy?: string;
  policyArns: string[];
  /** Requested DurationSeconds (before lifetime scaling). */
  durationSeconds?: number;
  /** For sessions: the principal ARN of whoever asked for it (or the web identity's sub). */
  issuedTo?: string;
}

export type ServiceOrImds = 'sts' | 'ec2' | 'ssm' | 'imds';

export interface CallRecord {
  service: ServiceOrImds;
  action: string;
  /** Request parameters with secrets (web identity tokens, parameter values) removed. */
  params: Record<string, unknown>;
  accessKeyId?: string;
  /** The request id the answer carried (x-amzn-requestid and the error body). */
  requestId?: string;
  at: number;
  status?: number;
  error?: string;
}

export type AssociationState = 'associating' | 'associated' | 'disassociating' | 'disassociated';

export interface Association {
  associationId: string;
  instanceId: string;
  profileArn: string;
  createdAt: number;
  /** Where the association is heading; the visible state is derived from it and the clock. */
  target: 'associated' | 'disassociated';
  changedAt: number;
}

export interface ProfileRecord {
  arn: string;
  id: string;
  roleArn: string;
}

export interface InstanceState {
  instanceId: string;
  region: string;
  availabilityZone: string;
  profiles: Map<string, ProfileRecord>;
  associations: Association[];
  /** Which profile IMDS serves from when: the last entry whose `at` has passed wins. */
  imdsTimeline: Array<{ at: number; profileArn: string | null }>;
  imdsPropagationMs: number;
  associationDelayMs: number;
}

export interface Parameter {
  name: string;
  value: string;
  type: 'String' | 'SecureString' | 'StringList';
  version: number;
  modifiedAt: number;
}

export interface EmulatorState {
  account: string;
  now: () => number;
  credentialLifetimeScale: number;
  packedPolicyLimit: number;
  hostCredentialSeconds: number;
  roles: Map<string, RoleRecord>;
  credentials: Map<string, CredentialRecord>;
  /** Every role session issued, in order (including IMDS instance-profile sessions). */
  sessions: CredentialRecord[];
  instance: InstanceState;
  /** IMDS credentials currently served per role ARN. */
  imdsCredentials: Map<string, CredentialRecord>;
  /** Caller principal ARN → role ARNs it may pass ('*' = any). No entry = any. */
  passRole: Map<string, string[] | '*'>;
  parameters: Map<string, Parameter>;
  calls: CallRecord[];
}

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

function parseRoleArn(arn: string): { account: string; name: string } | undefined {
  const m = ROLE_ARN.exec(arn);
  return m ? { account: m[1] as string, name: m[2] as string } : undefined;
}

export function addRole(state: EmulatorState, def: RoleDef): RoleRecord {
  const parsed = parseRoleArn(def.arn);
  if (!parsed) throw new Error(`addRole: not a role ARN: ${def.arn}`);
  const max = def.maxSessionDuration ?? 3600;
  if (max < 3600 || max > 43200) throw new Error(`addRole: maxSessionDuration must be 3600..43200, got ${max}`);
  const existing = state.roles.get(def.arn);
  const role: RoleRecord = {
    arn: def.arn,
    account: parsed.account,
    name: parsed.name,
    roleId: existing?.roleId ?? uniqueId('AROA'),
    maxSessionDuration: max,
    trust: def.trust ?? { principals: ['*'] },
  };
  state.roles.set(def.arn, role);
  return role;
}

/** The instance profile IMDS serves right now (after the propagation delay), or null. */
export function imdsProfileNow(state: EmulatorState): string | null {
  const now = state.now();
  let current: string | null = null;
  for (const entry of state.instance.imdsTimeline) if (entry.at <= now) current = entry.profileArn;
  return current;
}

export function associationState(state: EmulatorState, a: Association): AssociationState {
  const settled = state.now() >= a.changedAt + state.instance.associationDelayMs;
  if (a.target === 'associated') return settled ? 'associated' : 'associating';
  return settled ? 'disassociated' : 'disassociating';
}

export function isExpired(state: EmulatorState, cred: CredentialRecord): boolean {
  return cred.expiresAt !== undefined && state.now() >= cred.expiresAt;
}
