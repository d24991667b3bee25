// Trust-policy evaluation: which callers may assume a role, and OIDC conditions (StringEquals / StringLike).
import type { ConditionMap, CredentialRecord, RoleRecord } from './state.js';

export function principalMayAssume(role: RoleRecord, caller: CredentialRecord): boolean {
  const principals = role.trust.principals ?? [];
  return principals.some((p) => (p === '*' ? caller.account === role.account : p === caller.principalArn));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

function asList(v: string | string[]): string[] {
  return Array.isArray(v) ? v : [v];
}

/**
 * IAM semantics: every key must hold; for one key, any of its values may match any of the claim's values.
 * A key whose claim is missing fails.
 */
export function conditionsHold(
  conditions: { StringEquals?: ConditionMap; StringLike?: ConditionMap },
  context: Record<string, string | string[] | undefined>,
): { ok: true } | { ok: false; key: string } {
  const check = (map: ConditionMap | undefined, match: (pattern: string, actual: string) => boolean) => {
    for (const [key, expected] of Object.entries(map ?? {})) {
      const actual = context[key];
      if (actual === undefined) return key;
      const ok = asList(expected).some((e) => asList(actual).some((a) => match(e, a)));
      if (!ok) return key;
    }
    return undefined;
  };
  const failedEq = check(conditions.StringEquals, (e, a) => e === a);
  if (failedEq !== undefined) return { ok: false, key: failedEq };
  const failedLike = check(conditions.StringLike, (e, a) => globToRegExp(e).test(a));
  if (failedLike !== undefined) return { ok: false, key: failedLike };
  return { ok: true };
}

/** The condition-key prefix IAM derives from an issuer URL: host[:port][/path], no scheme, no trailing slash. */
export function issuerConditionPrefix(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}
