// STS parameter rules as AWS enforces them: durations, names, source identity, tags, session policies.
import { AwsError } from './errors.js';
import { memberList, memberStructs, type Params } from './query.js';

const NAME_RE = /^[\w+=,.@-]*$/;
const TAG_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function validation(message: string): AwsError {
  return new AwsError('ValidationError', message, 400);
}

function constraint(value: string, member: string, rule: string): AwsError {
  return validation(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`);
}

export function required(params: Params, name: string): string {
  const v = params[name];
  if (v === undefined || v === '')
    throw validation(
      `1 validation error detected: Value null at '${name[0]?.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  return v;
}

export function sessionName(params: Params): string {
  const v = required(params, 'RoleSessionName');
  if (v.length < 2 || v.length > 64)
    throw constraint(v, 'roleSessionName', `Member must have length ${v.length < 2 ? 'greater than or equal to 2' : 'less than or equal to 64'}`);
  if (!NAME_RE.test(v)) throw constraint(v, 'roleSessionName', 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
  return v;
}

/** DurationSeconds (default 3600): 900..43200, the role's maximum, and the 1-hour cap for chained roles. */
export function duration(params: Params, roleMax: number, chaining: boolean): number {
  const raw = params['DurationSeconds'];
  const d = raw === undefined ? 3600 : Number(raw);
  if (!Number.isInteger(d))
    throw validation(`1 validation error detected: Value '${raw}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`);
  if (d < 900) throw constraint(String(d), 'durationSeconds', 'Member must have value greater than or equal to 900');
  if (d > 43200) throw constraint(String(d), 'durationSeconds', 'Member must have value less than or equal to 43200');
  if (chaining && d > 3600) throw validation('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  if (d > roleMax) throw validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  return d;
}

export function sourceIdentity(params: Params): string | undefined {
  const v = params['SourceIdentity'];
  if (v === undefined) return undefined;
  if (v.length < 2 || v.length > 64)
    throw constraint(v, 'sourceIdentity', `Member must have length ${v.length < 2 ? 'greater than or equal to 2' : 'less than or equal to 64'}`);
  if (!NAME_RE.test(v)) throw constraint(v, 'sourceIdentity', 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
  if (v.toLowerCase().startsWith('aws:')) throw validation(`SourceIdentity '${v}' is invalid: it must not start with 'aws:'.`);
  return v;
}

export function tags(params: Params): { tags: Record<string, string>; transitive: string[] } {
  const list = memberStructs(params, 'Tags.member');
  if (list.length > 50)
    throw validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50");
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const t of list) {
    const key = t['Key'] ?? '';
    const value = t['Value'] ?? '';
    if (key.length < 1 || key.length > 128 || !TAG_RE.test(key))
      throw constraint(
        key,
        'tags.member.key',
        'Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+',
      );
    if (value.length > 256 || !TAG_RE.test(value))
      throw constraint(
        value,
        'tags.member.value',
        'Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*',
      );
    if (seen.has(key.toLowerCase()))
      throw new AwsError('InvalidParameterValue', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.', 400);
    seen.add(key.toLowerCase());
    out[key] = value;
  }
  const transitive = memberList(params, 'TransitiveTagKeys.member');
  if (transitive.length > 50)
    throw validation(
      "1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50",
    );
  return { tags: out, transitive };
}

export function policy(params: Params): { policy?: string; policyArns: string[] } {
  const p = params['Policy'];
  const arns = memberStructs(params, 'PolicyArns.member').map((m) => m['arn'] ?? '');
  if (arns.length > 10)
    throw validation("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10");
  for (const a of arns) if (!/^arn:aws:iam::(\d{12}|aws):policy\/.+$/.test(a)) throw validation(`Invalid ARN '${a}' in policyArns.`);
  if (p === undefined) return { policyArns: arns };
  if (p.length < 1 || p.length > 2048) throw constraint('…', 'policy', 'Member must have length less than or equal to 2048');
  let doc: unknown;
  try {
    doc = JSON.parse(p);
  } catch {
    throw new AwsError('MalformedPolicyDocument', 'The policy is not in the valid JSON format.', 400);
  }
  if (typeof doc !== 'object' || doc === null || !('Statement' in doc))
    throw new AwsError('MalformedPolicyDocument', 'Policy document must contain a Statement.', 400);
  return { policy: p, policyArns: arns };
}

/**
 * AWS compresses policy, ARNs and tags into one packed blob; this estimate treats policy text and ARNs as
 * compressing by half and tags not at all. Returns the percentage of `limit` used.
 */
export function packedPercent(pol: { policy?: string; policyArns: string[] }, tagMap: Record<string, string>, limit: number): number {
  const policyBytes = (pol.policy ?? '').replace(/\s+/g, '').length / 2;
  const arnBytes = pol.policyArns.reduce((n, a) => n + a.length / 2, 0);
  const tagBytes = Object.entries(tagMap).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  return Math.ceil(((policyBytes + arnBytes + tagBytes) / limit) * 100);
}

export function checkPacked(percent: number): void {
  if (percent > 100) throw new AwsError('PackedPolicyTooLarge', `Packed policy consumes ${percent}% of allotted space, please use smaller policy.`, 400);
}
