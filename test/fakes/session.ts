// Issues credentials: the host IAM user key and role sessions (AssumeRole, web identity, instance profile).
import { accessKeyId, secretAccessKey, sessionToken, uniqueId } from './ids.js';
import type { CredentialKind, CredentialRecord, EmulatorState, RoleRecord } from './state.js';

export function issueUserKey(state: EmulatorState, userName: string): CredentialRecord {
  const rec: CredentialRecord = {
    accessKeyId: accessKeyId('AKIA'),
    secretAccessKey: secretAccessKey(),
    kind: 'iam-user',
    account: state.account,
    principalArn: `arn:aws:iam::${state.account}:user/${userName}`,
    arn: `arn:aws:iam::${state.account}:user/${userName}`,
    userId: uniqueId('AIDA'),
    issuedAt: state.now(),
    tags: {},
    transitiveTagKeys: [],
    policyArns: [],
  };
  state.credentials.set(rec.accessKeyId, rec);
  return rec;
}

export interface SessionRequest {
  kind: Exclude<CredentialKind, 'iam-user'>;
  role: RoleRecord;
  sessionName: string;
  durationSeconds: number;
  sourceIdentity?: string;
  tags?: Record<string, string>;
  transitiveTagKeys?: string[];
  policy?: string;
  policyArns?: string[];
  issuedTo?: string;
}

/** A role session whose real lifetime is durationSeconds × credentialLifetimeScale. */
export function issueRoleSession(state: EmulatorState, req: SessionRequest): CredentialRecord {
  const now = state.now();
  const lifetimeMs = Math.max(1, Math.round(req.durationSeconds * 1000 * state.credentialLifetimeScale));
  const rec: CredentialRecord = {
    accessKeyId: accessKeyId('ASIA'),
    secretAccessKey: secretAccessKey(),
    sessionToken: sessionToken(),
    kind: req.kind,
    account: req.role.account,
    principalArn: req.role.arn,
    arn: `arn:aws:sts::${req.role.account}:assumed-role/${req.role.name}/${req.sessionName}`,
    userId: `${req.role.roleId}:${req.sessionName}`,
    issuedAt: now,
    // Whole seconds, as AWS's Expiration has no fractions: the key dies when the answer says it does.
    expiresAt: Math.ceil((now + lifetimeMs) / 1000) * 1000,
    roleArn: req.role.arn,
    sessionName: req.sessionName,
    tags: req.tags ?? {},
    transitiveTagKeys: req.transitiveTagKeys ?? [],
    policyArns: req.policyArns ?? [],
    durationSeconds: req.durationSeconds,
  };
  if (req.sourceIdentity !== undefined) rec.sourceIdentity = req.sourceIdentity;
  if (req.policy !== undefined) rec.policy = req.policy;
  if (req.issuedTo !== undefined) rec.issuedTo = req.issuedTo;
  state.credentials.set(rec.accessKeyId, rec);
  state.sessions.push(rec);
  return rec;
}
