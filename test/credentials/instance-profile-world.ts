// A fake instance for the instance-profile tests: EC2 associations (mocked SDK), IMDS with a propagation delay, STS, a clock.

import { mockClient } from 'aws-sdk-client-mock';
import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DisassociateIamInstanceProfileCommand,
  EC2Client,
  ReplaceIamInstanceProfileAssociationCommand,
  type IamInstanceProfileSpecification,
} from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { ImdsClient } from '../../src/aws/imds.js';
import type { AwsCredentials } from '../../src/core/credential-types.js';

const ACCOUNT = '111122223333';
export const INSTANCE = 'i-0123456789abcdef0';
export const HOST_PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/host-profile`;
export const JOB_PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/ci/job-profile`;
export const JOB_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/ci/deploy`;

/** Which role each profile carries. */
const PROFILE_ROLES: Record<string, string> = { [HOST_PROFILE_ARN]: 'host-role', [JOB_PROFILE_ARN]: 'deploy' };

export interface Assoc {
  id: string;
  profileArn: string;
  state: 'associating' | 'associated' | 'disassociating';
}

export interface WorldOptions {
  /** The profile the instance carries at the start; undefined = none. */
  baseline?: string | undefined;
  /** roleName() polls that still show the previous role after a change. */
  propagationPolls?: number;
  /** Describes an association stays 'associating' after a change. */
  associatingDescribes?: number;
  /** Hours the IMDS credentials live. */
  credentialHours?: number;
}

export function createWorld(opts: WorldOptions = {}) {
  let clockMs = Date.parse('2030-01-01T00:00:00Z');
  const events: string[] = [];
  const signers: string[] = [];
  let seq = 0;
  const state: {
    assoc: Assoc | undefined;
    served: string | undefined;
    pending: { role: string | undefined; polls: number } | undefined;
    associatingLeft: number;
  } = {
    assoc: undefined,
    served: undefined,
    pending: undefined,
    associatingLeft: 0,
  };
  const hours = opts.credentialHours ?? 6;
  const credsByRole = new Map<string, AwsCredentials>();
  const credsFor = (role: string): AwsCredentials => {
    let c = credsByRole.get(role);
    if (c === undefined) {
      c = {
        accessKeyId: `ASIA${role
          .toUpperCase()
          .replace(/[^A-Z]/g, 'X')
          .padEnd(16, 'Q')
          .slice(0, 16)}`,
        secretAccessKey: `secret-of-${role}`,
        sessionToken: `token-of-${role}`,
        expiration: new Date(clockMs + hours * 3600_000),
      };
      credsByRole.set(role, c);
    }
    return c;
  };
  const roleByKey = (key: string) => [...credsByRole.entries()].find(([, c]) => c.accessKeyId === key)?.[0];

  if (opts.baseline !== undefined) {
    state.assoc = { id: `iip-assoc-${++seq}`, profileArn: opts.baseline, state: 'associated' };
    state.served = PROFILE_ROLES[opts.baseline];
  }

  const resolve = (spec: IamInstanceProfileSpecification | undefined): string => {
    if (spec?.Arn !== undefined) return spec.Arn;
    const hit = Object.keys(PROFILE_ROLES).find((arn) => arn.endsWith(`/${spec?.Name ?? '?'}`));
    if (hit === undefined) throw awsError('InvalidParameterValue', 'no such profile');
    return hit;
  };
  const changeTo = (profileArn: string | undefined) => {
    state.pending = { role: profileArn === undefined ? undefined : PROFILE_ROLES[profileArn], polls: opts.propagationPolls ?? 2 };
    state.associatingLeft = opts.associatingDescribes ?? 1;
  };

  /** One-shot interceptors: run instead of the normal behaviour for the next call of that kind. */
  const once: { replace?: () => unknown; associate?: () => unknown } = {};
  const intercept = (kind: 'replace' | 'associate'): { hit: true; value: unknown } | undefined => {
    const fn = once[kind];
    if (fn === undefined) return undefined;
    delete once[kind];
    return { hit: true, value: fn() };
  };

  const ec2Mock = mockClient(EC2Client);
  const stsMock = mockClient(STSClient);

  ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).callsFake(() => {
    events.push('describe');
    const a = state.assoc;
    if (a !== undefined && a.state === 'associating') {
      if (state.associatingLeft-- <= 0) a.state = 'associated';
    }
    return {
      IamInstanceProfileAssociations:
        a === undefined ? [] : [{ AssociationId: a.id, InstanceId: INSTANCE, State: a.state, IamInstanceProfile: { Arn: a.profileArn, Id: 'AIPAEXAMPLE' } }],
    };
  });
  ec2Mock
    .on(ReplaceIamInstanceProfileAssociationCommand)
    .callsFake((input: { AssociationId?: string; IamInstanceProfile?: IamInstanceProfileSpecification }) => {
      const hooked = intercept('replace');
      if (hooked) return hooked.value;
      events.push(`replace:${input.AssociationId}`);
      if (state.assoc === undefined || state.assoc.id !== input.AssociationId) {
        throw awsError('InvalidAssociationID.NotFound', `The association ID '${input.AssociationId}' does not exist`);
      }
      if (state.assoc.state !== 'associated') throw awsError('IncorrectState', 'association is not associated');
      const profileArn = resolve(input.IamInstanceProfile);
      state.assoc = { id: `iip-assoc-${++seq}`, profileArn, state: 'associating' };
      changeTo(profileArn);
      return { IamInstanceProfileAssociation: { AssociationId: state.assoc.id, State: 'associating', InstanceId: INSTANCE } };
    });
  ec2Mock.on(AssociateIamInstanceProfileCommand).callsFake((input: { InstanceId?: string; IamInstanceProfile?: IamInstanceProfileSpecification }) => {
    const hooked = intercept('associate');
    if (hooked) return hooked.value;
    events.push('associate');
    if (state.assoc !== undefined) throw awsError('IncorrectState', `There is an existing association for instance ${INSTANCE}`);
    const profileArn = resolve(input.IamInstanceProfile);
    state.assoc = { id: `iip-assoc-${++seq}`, profileArn, state: 'associating' };
    changeTo(profileArn);
    return { IamInstanceProfileAssociation: { AssociationId: state.assoc.id, State: 'associating', InstanceId: INSTANCE } };
  });
  ec2Mock.on(DisassociateIamInstanceProfileCommand).callsFake((input: { AssociationId?: string }) => {
    events.push(`disassociate:${input.AssociationId}`);
    if (state.assoc === undefined || state.assoc.id !== input.AssociationId) {
      throw awsError('InvalidAssociationID.NotFound', `The association ID '${input.AssociationId}' does not exist`);
    }
    state.assoc = undefined;
    changeTo(undefined);
    return {};
  });
  stsMock.on(GetCallerIdentityCommand).callsFake(async (_input: unknown, getClient: () => STSClient) => {
    const provider = getClient().config.credentials as () => Promise<{ accessKeyId: string }>;
    const role = roleByKey((await provider()).accessKeyId);
    events.push(`sts:${role ?? '?'}`);
    if (role === undefined) throw awsError('InvalidClientTokenId', 'The security token included in the request is invalid.');
    return { Account: ACCOUNT, UserId: 'AROAEXAMPLE:' + INSTANCE, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${INSTANCE}` };
  });

  const imds: ImdsClient = {
    instanceId: async () => INSTANCE,
    region: async () => 'us-east-1',
    async roleName() {
      events.push('imds:role');
      if (state.pending !== undefined) {
        if (state.pending.polls <= 0) {
          state.served = state.pending.role;
          state.pending = undefined;
        } else state.pending.polls--;
      }
      return state.served;
    },
    async credentials(role: string) {
      if (role !== state.served) throw new Error(`IMDS serves no credentials for ${role}`);
      return credsFor(role);
    },
  };

  return {
    state,
    once,
    events,
    profile: () => state.assoc?.profileArn,
    signers,
    imds,
    ec2Mock,
    stsMock,
    credsFor,
    now: () => new Date(clockMs),
    sleep: async (ms: number) => {
      clockMs += ms;
    },
    advance: (ms: number) => {
      clockMs += ms;
    },
    ec2: async (c: AwsCredentials | undefined) => {
      signers.push(c?.accessKeyId ?? 'default-chain');
      return new EC2Client({ region: 'us-east-1', credentials: c ?? { accessKeyId: 'AKIADEFAULTCHAIN0000', secretAccessKey: 'x' } });
    },
    sts: async (c: AwsCredentials) => new STSClient({ region: 'us-east-1', credentials: c }),
    /** EC2 calls that change something, in order. */
    mutations: () => events.filter((e) => /^(replace|associate|disassociate)/.test(e)),
    restoreMocks: () => {
      ec2Mock.restore();
      stsMock.restore();
    },
  };
}

export type World = ReturnType<typeof createWorld>;

export function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: {} });
}
