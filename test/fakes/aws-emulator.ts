// Starts the local AWS emulator: STS + EC2 + SSM on one port, IMDSv2 on another, a GitLab-shaped OIDC issuer on a third.
import { createServer } from 'node:http';
import { createAwsHandler } from './aws-endpoint.js';
import { FaultTable, type Faults } from './faults.js';
import { close, listen } from './http-util.js';
import { hexId, uniqueId } from './ids.js';
import { instanceCredentials, imdsRoleNow, createImdsHandler } from './imds.js';
import { startOidcIssuer, type OidcIssuer } from './oidc-issuer.js';
import { issueUserKey } from './session.js';
import { putParameter as putParam } from './ssm.js';
import {
  addRole as addRoleTo,
  associationState,
  type AssociationState,
  type CallRecord,
  type CredentialRecord,
  type EmulatorState,
  type Parameter,
  type RoleDef,
} from './state.js';

export type { CallRecord, CredentialRecord, RoleDef } from './state.js';
export type { MintOptions, OidcIssuer, TokenAlg } from './oidc-issuer.js';
export type { Faults } from './faults.js';

export interface EmulatorOptions {
  /** Account of the host, its roles and instance; default 111122223333. */
  account?: string;
  region?: string;
  instanceId?: string;
  /** Name of the host's role and instance profile; default jobrole-host. */
  hostRoleName?: string;
  /** Real lifetime = requested × scale (0.01: a 900 s session dies after 9 s); default 1. */
  credentialLifetimeScale?: number;
  /** Lifetime IMDS gives instance-profile sessions before scaling; default 21600. */
  hostCredentialSeconds?: number;
  /** Packed-size budget of policy + ARNs + tags (see sts-validate packedPercent); default 2048. */
  packedPolicyLimit?: number;
  /** How long IMDS keeps serving the old role after a profile change; default 500 ms. */
  imdsPropagationMs?: number;
  /** How long an association stays associating / disassociating; default 200 ms. */
  associationDelayMs?: number;
  now?: () => number;
  /** Fixed ports (0 = any free one). */
  ports?: { aws?: number; imds?: number; oidc?: number };
}

export interface InstanceSetup {
  instanceId?: string;
  region?: string;
  /** Instance profile ARN → role ARN (roles not yet known are added with default trust). */
  profiles?: Record<string, string>;
  /** The profile associated right now (no delays), or null for none. */
  association?: string | null;
  imdsPropagationMs?: number;
  associationDelayMs?: number;
}

export interface AwsEmulator {
  endpoint: string;
  imdsEndpoint: string;
  region: string;
  account: string;
  oidc: OidcIssuer;
  host: { accessKeyId: string; secretAccessKey: string; arn: string };
  hostRoleArn: string;
  hostProfileArn: string;
  instanceId: string;
  addRole(role: RoleDef): void;
  addInstanceProfile(profileArn: string, roleArn: string): void;
  setInstance(setup: InstanceSetup): void;
  imdsPropagationMs: number;
  associationDelayMs: number;
  /** The role ARN IMDS serves right now (undefined = none). */
  imdsRoleArn(): string | undefined;
  /** The instance-profile credentials IMDS serves right now (issuing them if needed). */
  hostRoleCredentials(): CredentialRecord | undefined;
  /** IMDS renews the served role's credentials now, as EC2 does before they expire (the old ones stay valid). */
  rotateImdsCredentials(): void;
  associations(): Array<{ associationId: string; profileArn: string; state: AssociationState }>;
  /** Which roles a caller (user or role ARN) may pass to EC2; no entry = any. */
  setPassRole(callerArn: string, roleArns: string[] | '*'): void;
  putParameter(name: string, value: string, type?: Parameter['type']): void;
  faults: Faults;
  readonly calls: CallRecord[];
  /** Every role session issued, oldest first (AssumeRole, web identity, instance profile). */
  readonly sessions: CredentialRecord[];
  credential(accessKeyId: string): CredentialRecord | undefined;
  /** Makes a key expire now. */
  expire(accessKeyId: string): void;
  credentialLifetimeScale: number;
  packedPolicyLimit: number;
  stop(): Promise<void>;
}

export async function startAwsEmulator(opts: EmulatorOptions = {}): Promise<AwsEmulator> {
  const now = opts.now ?? Date.now;
  const account = opts.account ?? '111122223333';
  const region = opts.region ?? 'us-east-1';
  const hostName = opts.hostRoleName ?? 'jobrole-host';
  const state: EmulatorState = {
    account,
    now,
    credentialLifetimeScale: opts.credentialLifetimeScale ?? 1,
    packedPolicyLimit: opts.packedPolicyLimit ?? 2048,
    hostCredentialSeconds: opts.hostCredentialSeconds ?? 21600,
    roles: new Map(),
    credentials: new Map(),
    sessions: [],
    instance: {
      instanceId: opts.instanceId ?? hexId('i-'),
      region,
      availabilityZone: `${region}a`,
      profiles: new Map(),
      associations: [],
      imdsTimeline: [],
      imdsPropagationMs: opts.imdsPropagationMs ?? 500,
      associationDelayMs: opts.associationDelayMs ?? 200,
    },
    imdsCredentials: new Map(),
    passRole: new Map(),
    parameters: new Map(),
    calls: [],
  };

  const hostRoleArn = `arn:aws:iam::${account}:role/${hostName}`;
  const hostProfileArn = `arn:aws:iam::${account}:instance-profile/${hostName}`;
  const user = issueUserKey(state, hostName);
  addRoleTo(state, { arn: hostRoleArn, trust: { principals: [] } });

  const addInstanceProfile = (profileArn: string, roleArn: string) => {
    if (!state.roles.has(roleArn)) addRoleTo(state, { arn: roleArn });
    const existing = state.instance.profiles.get(profileArn);
    state.instance.profiles.set(profileArn, { arn: profileArn, id: existing?.id ?? uniqueId('AIPA'), roleArn });
  };

  const setInstance = (setup: InstanceSetup) => {
    const inst = state.instance;
    if (setup.instanceId !== undefined) inst.instanceId = setup.instanceId;
    if (setup.region !== undefined) {
      inst.region = setup.region;
      inst.availabilityZone = `${setup.region}a`;
    }
    if (setup.imdsPropagationMs !== undefined) inst.imdsPropagationMs = setup.imdsPropagationMs;
    if (setup.associationDelayMs !== undefined) inst.associationDelayMs = setup.associationDelayMs;
    for (const [p, r] of Object.entries(setup.profiles ?? {})) addInstanceProfile(p, r);
    if (setup.association !== undefined) {
      const t = now() - inst.associationDelayMs;
      inst.associations = [];
      inst.imdsTimeline = [{ at: t, profileArn: setup.association }];
      if (setup.association !== null) {
        if (!inst.profiles.has(setup.association)) throw new Error(`setInstance: unknown instance profile ${setup.association}`);
        inst.associations.push({
          associationId: hexId('iip-assoc-'),
          instanceId: inst.instanceId,
          profileArn: setup.association,
          createdAt: t,
          target: 'associated',
          changedAt: t,
        });
      }
    }
  };

  setInstance({ profiles: { [hostProfileArn]: hostRoleArn }, association: hostProfileArn });

  const faults = new FaultTable(now);
  const oidc = await startOidcIssuer(now, opts.ports?.oidc ?? 0);
  const awsServer = createServer(createAwsHandler({ state, faults, verifyWebIdentity: (t) => oidc.verify(t) }));
  const imdsServer = createServer(createImdsHandler(state));
  let endpoint: string;
  let imdsEndpoint: string;
  try {
    endpoint = await listen(awsServer, opts.ports?.aws ?? 0);
    imdsEndpoint = await listen(imdsServer, opts.ports?.imds ?? 0);
  } catch (err) {
    await Promise.all([oidc.stop(), close(awsServer), close(imdsServer)]);
    throw err;
  }

  return {
    endpoint,
    imdsEndpoint,
    region,
    account,
    oidc,
    host: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey, arn: user.arn },
    hostRoleArn,
    hostProfileArn,
    get instanceId() {
      return state.instance.instanceId;
    },
    addRole: (role) => void addRoleTo(state, role),
    addInstanceProfile,
    setInstance,
    get imdsPropagationMs() {
      return state.instance.imdsPropagationMs;
    },
    set imdsPropagationMs(ms: number) {
      state.instance.imdsPropagationMs = ms;
    },
    get associationDelayMs() {
      return state.instance.associationDelayMs;
    },
    set associationDelayMs(ms: number) {
      state.instance.associationDelayMs = ms;
    },
    imdsRoleArn: () => imdsRoleNow(state)?.roleArn,
    hostRoleCredentials: () => {
      const r = imdsRoleNow(state);
      return r === undefined ? undefined : instanceCredentials(state, r.roleArn);
    },
    rotateImdsCredentials: () => {
      const r = imdsRoleNow(state);
      if (r !== undefined) state.imdsCredentials.delete(r.roleArn);
    },
    associations: () =>
      state.instance.associations
        .map((a) => ({ associationId: a.associationId, profileArn: a.profileArn, state: associationState(state, a) }))
        .filter((a) => a.state !== 'disassociated'),
    setPassRole: (callerArn, roleArns) => void state.passRole.set(callerArn, roleArns),
    putParameter: (name, value, type = 'String') => void putParam(state, name, value, type),
    faults,
    get calls() {
      return state.calls;
    },
    get sessions() {
      return state.sessions;
    },
    credential: (id) => state.credentials.get(id),
    expire: (id) => {
      const c = state.credentials.get(id);
      if (c !== undefined) c.expiresAt = now();
    },
    get credentialLifetimeScale() {
      return state.credentialLifetimeScale;
    },
    set credentialLifetimeScale(s: number) {
      state.credentialLifetimeScale = s;
    },
    get packedPolicyLimit() {
      return state.packedPolicyLimit;
    },
    set packedPolicyLimit(n: number) {
      state.packedPolicyLimit = n;
    },
    stop: async () => {
      await Promise.all([close(awsServer), close(imdsServer), oidc.stop()]);
    },
  };
}
