// STS on the query protocol: AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity.
import { AwsError } from './errors.js';
import { jsonText } from './json-text.js';
import type { Params } from './query.js';
import { issueRoleSession } from './session.js';
import type { CredentialRecord, EmulatorState, RoleRecord } from './state.js';
import * as v from './sts-validate.js';
import { conditionsHold, issuerConditionPrefix, principalMayAssume } from './trust.js';
import { document, isoSeconds, leaf, tag } from './xml.js';

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const STS_ACTIONS = new Set(['AssumeRole', 'AssumeRoleWithWebIdentity', 'GetCallerIdentity']);
export const STS_UNSIGNED_ACTIONS = new Set(['AssumeRoleWithWebIdentity']);

/** Checks a web identity token's signature and expiry; throws an AwsError (InvalidIdentityToken, ExpiredTokenException). */
export type WebIdentityVerifier = (token: string) => Promise<Record<string, unknown>>;

export interface StsContext {
  state: EmulatorState;
  params: Params;
  caller: CredentialRecord | undefined;
  requestId: string;
  verifyWebIdentity: WebIdentityVerifier;
}

function answer(action: string, result: string, requestId: string): string {
  return document(`${action}Response`, STS_NS, tag(`${action}Result`, result) + tag('ResponseMetadata', leaf('RequestId', requestId)));
}

function credentialsXml(c: CredentialRecord): string {
  return tag(
    'Credentials',
    leaf('AccessKeyId', c.accessKeyId) +
      leaf('SecretAccessKey', c.secretAccessKey) +
      leaf('SessionToken', c.sessionToken) +
      leaf('Expiration', isoSeconds(c.expiresAt ?? 0)),
  );
}

function assumedRoleUserXml(c: CredentialRecord): string {
  return tag('AssumedRoleUser', leaf('AssumedRoleId', c.userId) + leaf('Arn', c.arn));
}

function isRoleSession(c: CredentialRecord): boolean {
  return c.kind !== 'iam-user';
}

function lookupRole(state: EmulatorState, arn: string, denied: AwsError): RoleRecord {
  const role = state.roles.get(arn);
  if (role === undefined) throw denied;
  return role;
}

function assumeRole(ctx: StsContext): string {
  const { state, params } = ctx;
  const caller = ctx.caller as CredentialRecord;
  const roleArn = v.required(params, 'RoleArn');
  const name = v.sessionName(params);
  const denied = new AwsError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
  const role = lookupRole(state, roleArn, denied);
  if (!principalMayAssume(role, caller)) throw denied;
  const chaining = isRoleSession(caller);
  const duration = v.duration(params, role.maxSessionDuration, chaining);
  let sourceIdentity = v.sourceIdentity(params);
  if (caller.sourceIdentity !== undefined) {
    if (sourceIdentity !== undefined && sourceIdentity !== caller.sourceIdentity) {
      throw new AwsError(
        'AccessDenied',
        `User: ${caller.arn} is not authorized to perform: sts:SetSourceIdentity on resource: ${roleArn}: the caller's SourceIdentity '${caller.sourceIdentity}' cannot be changed`,
        403,
      );
    }
    sourceIdentity = caller.sourceIdentity;
  }
  const { tags, transitive } = v.tags(params);
  for (const k of transitive)
    if (!Object.keys(tags).some((t) => t.toLowerCase() === k.toLowerCase()))
      throw new AwsError('InvalidParameterValue', `Transitive tag key '${k}' is not one of the session tags.`, 400);
  // Transitive tags of a chained caller come along and cannot be overridden.
  const allTags = { ...tags };
  for (const k of caller.transitiveTagKeys) {
    const inherited = caller.tags[k];
    if (inherited === undefined) continue;
    const clash = Object.keys(tags).find((t) => t.toLowerCase() === k.toLowerCase());
    if (clash !== undefined && tags[clash] !== inherited)
      throw new AwsError('InvalidParameterValue', `Tag key '${k}' is transitive from the calling session and cannot be overridden.`, 400);
    allTags[k] = inherited;
  }
  const pol = v.policy(params);
  const percent = v.packedPercent(pol, allTags, state.packedPolicyLimit);
  v.checkPacked(percent);
  const session = issueRoleSession(state, {
    kind: 'assumed-role',
    role,
    sessionName: name,
    durationSeconds: duration,
    ...(sourceIdentity !== undefined ? { sourceIdentity } : {}),
    tags: allTags,
    transitiveTagKeys: [...new Set([...transitive, ...caller.transitiveTagKeys])],
    ...(pol.policy !== undefined ? { policy: pol.policy } : {}),
    policyArns: pol.policyArns,
    issuedTo: caller.principalArn,
  });
  const packed = pol.policy !== undefined || pol.policyArns.length > 0 || Object.keys(allTags).length > 0 ? leaf('PackedPolicySize', percent) : '';
  return answer('AssumeRole', leaf('SourceIdentity', sourceIdentity) + assumedRoleUserXml(session) + credentialsXml(session) + packed, ctx.requestId);
}

async function assumeRoleWithWebIdentity(ctx: StsContext): Promise<string> {
  const { state, params } = ctx;
  const roleArn = v.required(params, 'RoleArn');
  const name = v.sessionName(params);
  const token = v.required(params, 'WebIdentityToken');
  const claims = await ctx.verifyWebIdentity(token);
  const denied = new AwsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
  const role = lookupRole(state, roleArn, denied);
  const fed = role.trust.federated;
  const iss = jsonText(claims['iss']);
  if (fed === undefined || fed.issuer.replace(/\/+$/, '') !== iss.replace(/\/+$/, '')) throw denied;
  const prefix = issuerConditionPrefix(iss);
  const aud = claims['aud'];
  const context: Record<string, string | string[] | undefined> = {
    [`${prefix}:sub`]: typeof claims['sub'] === 'string' ? claims['sub'] : undefined,
    [`${prefix}:aud`]: typeof aud === 'string' || Array.isArray(aud) ? (aud as string | string[]) : undefined,
  };
  if (!conditionsHold(fed.conditions, context).ok) throw denied;
  const duration = v.duration(params, role.maxSessionDuration, false);
  const pol = v.policy(params);
  v.checkPacked(v.packedPercent(pol, {}, state.packedPolicyLimit));
  const session = issueRoleSession(state, {
    kind: 'web-identity',
    role,
    sessionName: name,
    durationSeconds: duration,
    ...(pol.policy !== undefined ? { policy: pol.policy } : {}),
    policyArns: pol.policyArns,
    issuedTo: jsonText(claims['sub']),
  });
  const audience = Array.isArray(aud) ? String(aud[0] ?? '') : jsonText(aud);
  const result =
    leaf('SubjectFromWebIdentityToken', jsonText(claims['sub'])) +
    leaf('Audience', audience) +
    assumedRoleUserXml(session) +
    credentialsXml(session) +
    leaf('Provider', `arn:aws:iam::${role.account}:oidc-provider/${issuerConditionPrefix(iss)}`);
  return answer('AssumeRoleWithWebIdentity', result, ctx.requestId);
}

function getCallerIdentity(ctx: StsContext): string {
  const c = ctx.caller as CredentialRecord;
  return answer('GetCallerIdentity', leaf('Arn', c.arn) + leaf('UserId', c.userId) + leaf('Account', c.account), ctx.requestId);
}

export async function handleSts(action: string, ctx: StsContext): Promise<string> {
  switch (action) {
    case 'AssumeRole':
      return assumeRole(ctx);
    case 'AssumeRoleWithWebIdentity':
      return assumeRoleWithWebIdentity(ctx);
    case 'GetCallerIdentity':
      return getCallerIdentity(ctx);
    default:
      throw new AwsError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`, 400);
  }
}
