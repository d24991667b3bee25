// EC2 on the ec2 query protocol: the IAM instance profile association calls, with PassRole checks.
import { AwsError } from './errors.js';
import { hexId } from './ids.js';
import { memberList, memberStructs, type Params } from './query.js';
import { associationState, type Association, type CredentialRecord, type EmulatorState, type ProfileRecord } from './state.js';
import { document, esc, isoSeconds, leaf, tag } from './xml.js';

const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
export const EC2_ACTIONS = new Set([
  'DescribeIamInstanceProfileAssociations',
  'AssociateIamInstanceProfile',
  'ReplaceIamInstanceProfileAssociation',
  'DisassociateIamInstanceProfile',
]);

export interface Ec2Context {
  state: EmulatorState;
  params: Params;
  caller: CredentialRecord | undefined;
  requestId: string;
}

function answer(action: string, inner: string, requestId: string): string {
  return document(`${action}Response`, EC2_NS, leaf('requestId', requestId) + inner);
}

function associationXml(state: EmulatorState, a: Association, name = 'iamInstanceProfileAssociation'): string {
  const profile = state.instance.profiles.get(a.profileArn);
  return tag(
    name,
    leaf('associationId', a.associationId) +
      leaf('instanceId', a.instanceId) +
      tag('iamInstanceProfile', leaf('arn', a.profileArn) + leaf('id', profile?.id)) +
      leaf('state', associationState(state, a)) +
      leaf('timestamp', isoSeconds(a.createdAt).replace('Z', '.000Z')),
  );
}

function findProfile(ctx: Ec2Context): ProfileRecord {
  const arn = ctx.params['IamInstanceProfile.Arn'];
  const name = ctx.params['IamInstanceProfile.Name'];
  const profiles = [...ctx.state.instance.profiles.values()];
  const found =
    arn !== undefined ? profiles.find((p) => p.arn === arn) : profiles.find((p) => p.arn.endsWith(`:instance-profile/${name}`) || p.arn.endsWith(`/${name}`));
  if (found === undefined) {
    const [param, value] = arn !== undefined ? ['iamInstanceProfile.arn', arn] : ['iamInstanceProfile.name', name ?? 'null'];
    throw new AwsError(
      'InvalidParameterValue',
      `Value (${value}) for parameter ${param} is invalid. Invalid IAM Instance Profile ${arn !== undefined ? 'ARN' : 'name'}`,
      400,
    );
  }
  return found;
}

function checkPassRole(ctx: Ec2Context, profile: ProfileRecord): void {
  const caller = ctx.caller as CredentialRecord;
  const allowed = ctx.state.passRole.get(caller.principalArn);
  if (allowed === undefined || allowed === '*' || allowed.includes(profile.roleArn)) return;
  throw new AwsError(
    'UnauthorizedOperation',
    `You are not authorized to perform this operation. User: ${caller.arn} is not authorized to perform: iam:PassRole on resource: ${profile.roleArn} because no identity-based policy allows the iam:PassRole action`,
    403,
  );
}

function live(state: EmulatorState): Association[] {
  return state.instance.associations.filter((a) => associationState(state, a) !== 'disassociated');
}

function findAssociation(ctx: Ec2Context): Association {
  const id = ctx.params['AssociationId'];
  if (id === undefined) throw new AwsError('MissingParameter', 'The request must contain the parameter AssociationId', 400);
  const a = live(ctx.state).find((x) => x.associationId === id);
  if (a === undefined) throw new AwsError('InvalidAssociationID.NotFound', `An association with ID ${id} does not exist.`, 400);
  return a;
}

function scheduleImds(state: EmulatorState, profileArn: string | null): void {
  state.instance.imdsTimeline.push({ at: state.now() + state.instance.imdsPropagationMs, profileArn });
}

function newAssociation(state: EmulatorState, profile: ProfileRecord): Association {
  const now = state.now();
  const a: Association = {
    associationId: hexId('iip-assoc-'),
    instanceId: state.instance.instanceId,
    profileArn: profile.arn,
    createdAt: now,
    target: 'associated',
    changedAt: now,
  };
  state.instance.associations.push(a);
  scheduleImds(state, profile.arn);
  return a;
}

function describe(ctx: Ec2Context): string {
  const { state, params } = ctx;
  const ids = memberList(params, 'AssociationId');
  let list = live(state);
  for (const id of ids)
    if (!list.some((a) => a.associationId === id)) throw new AwsError('InvalidAssociationID.NotFound', `An association with ID ${id} does not exist.`, 400);
  if (ids.length > 0) list = list.filter((a) => ids.includes(a.associationId));
  for (const f of memberStructs(params, 'Filter')) {
    const values = Object.entries(f)
      .filter(([k]) => k.startsWith('Value.'))
      .map(([, v]) => v ?? '');
    if (f['Name'] === 'instance-id') list = list.filter((a) => values.includes(a.instanceId));
    else if (f['Name'] === 'state') list = list.filter((a) => values.includes(associationState(state, a)));
    else throw new AwsError('InvalidParameterValue', `The filter '${esc(f['Name'] ?? '')}' is invalid`, 400);
  }
  const items = list.map((a) => associationXml(state, a, 'item')).join('');
  return answer('DescribeIamInstanceProfileAssociations', tag('iamInstanceProfileAssociationSet', items), ctx.requestId);
}

function associate(ctx: Ec2Context): string {
  const { state, params } = ctx;
  const instanceId = params['InstanceId'];
  if (instanceId !== state.instance.instanceId) throw new AwsError('InvalidInstanceID.NotFound', `The instance ID '${instanceId ?? ''}' does not exist`, 400);
  const profile = findProfile(ctx);
  checkPassRole(ctx, profile);
  if (live(state).some((a) => a.target === 'associated'))
    throw new AwsError('IncorrectState', `There is an existing association for instance ${instanceId}`, 400);
  return answer('AssociateIamInstanceProfile', associationXml(state, newAssociation(state, profile)), ctx.requestId);
}

function replace(ctx: Ec2Context): string {
  const { state } = ctx;
  const old = findAssociation(ctx);
  const profile = findProfile(ctx);
  checkPassRole(ctx, profile);
  if (associationState(state, old) !== 'associated')
    throw new AwsError('IncorrectState', `The association ${old.associationId} is not in the associated state.`, 400);
  old.target = 'disassociated';
  old.changedAt = state.now();
  return answer('ReplaceIamInstanceProfileAssociation', associationXml(state, newAssociation(state, profile)), ctx.requestId);
}

function disassociate(ctx: Ec2Context): string {
  const { state } = ctx;
  const a = findAssociation(ctx);
  if (a.target === 'disassociated') throw new AwsError('IncorrectState', `The association ${a.associationId} is already being disassociated.`, 400);
  a.target = 'disassociated';
  a.changedAt = state.now();
  scheduleImds(state, null);
  return answer('DisassociateIamInstanceProfile', associationXml(state, a), ctx.requestId);
}

export function handleEc2(action: string, ctx: Ec2Context): string {
  switch (action) {
    case 'DescribeIamInstanceProfileAssociations':
      return describe(ctx);
    case 'AssociateIamInstanceProfile':
      return associate(ctx);
    case 'ReplaceIamInstanceProfileAssociation':
      return replace(ctx);
    case 'DisassociateIamInstanceProfile':
      return disassociate(ctx);
    default:
      throw new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`, 400);
  }
}
