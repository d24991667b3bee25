// Where verification keys come from: the JwksSource contract and validation of a fetched or read key set.

import type { JSONWebKeySet } from 'jose';

export type { JSONWebKeySet };

/** What a refetch for an unknown key id produced: a newer set, or why there is none. */
export type RefreshResult = { jwks: JSONWebKeySet } | { jwks?: undefined; why: string };

export interface JwksSource {
  /** Where the keys come from, for messages (a URL or a file path; never a secret). */
  readonly description: string;
  /** The key set to verify with (cached, fetched or read). Throws SystemFailure when no key set can be had. */
  keys(): Promise<JSONWebKeySet>;
  /** Called at most once per verification, when the token's key id is not in keys(): key rotation. */
  refresh(): Promise<RefreshResult>;
}

/** Checks the shape of a JWKS document; returns the reason it is unusable, or the set. */
export function parseJwks(value: unknown): { jwks: JSONWebKeySet } | { error: string } {
  if (typeof value !== 'object' || value === null || !('keys' in value) || !Array.isArray(value.keys)) {
    return { error: 'it is not a JWKS document (expected an object with a "keys" array)' };
  }
  const keys = value.keys.filter(
    (k: unknown): k is JSONWebKeySet['keys'][number] => typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string',
  );
  if (!keys.some((k) => k.kty === 'RSA')) return { error: 'it holds no RSA key (GitLab signs ID tokens with RS256)' };
  return { jwks: { keys } };
}

/** True when the set has an RSA signing key usable for this key id (any RSA key when the token names none). */
export function hasKeyFor(jwks: JSONWebKeySet, kid: string | undefined): boolean {
  return jwks.keys.some(
    (k) => k.kty === 'RSA' && (k.use === undefined || k.use === 'sig') && (k.alg === undefined || k.alg === 'RS256') && (kid === undefined || k.kid === kid),
  );
}
