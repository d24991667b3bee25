// Authentication for the broker: the job's GitLab ID token from the Authorization header, verified (and memoised).

import { createHash } from 'node:crypto';
import type { VerifiedIdToken } from '../identity/claims.js';
import { BuildFailure } from '../core/exit-codes.js';
import { LruMap } from './lru.js';

export type AuthResult = { ok: true; token: VerifiedIdToken } | { ok: false; status: 401 | 503; code: 'InvalidToken' | 'ServiceUnavailable'; message: string };

/** verifyIdToken bound to the broker's issuer, audience, keys and skew. */
export type TokenVerifier = (raw: string) => Promise<VerifiedIdToken>;

const MAX_HEADER = 16 * 1024;

/** The token in "Authorization: <token>" (what the SDKs send) or "Authorization: Bearer <token>"; undefined if absent. */
export function tokenFromHeader(header: string | string[] | undefined): string | undefined {
  if (header === undefined || Array.isArray(header)) return undefined;
  const v = header.trim();
  if (v === '') return undefined;
  const m = /^bearer\s+(.+)$/i.exec(v);
  return (m?.[1] ?? v).trim();
}

export interface AuthenticatorOptions {
  verify: TokenVerifier;
  now?: () => number;
  /** Verified tokens remembered (by SHA-256, never the token itself) so keep-alive SDK refreshes skip RSA; default 10000. */
  maxRemembered?: number;
  /** [gitlab].clock_skew in seconds: a remembered token is dropped once past exp + skew. */
  clockSkewSeconds: number;
}

export interface Authenticator {
  authenticate(header: string | string[] | undefined): Promise<AuthResult>;
}

export function authenticator(opts: AuthenticatorOptions): Authenticator {
  const now = opts.now ?? Date.now;
  const remembered = new LruMap<string, VerifiedIdToken>(opts.maxRemembered ?? 10000);
  return {
    async authenticate(header) {
      if (Array.isArray(header) || (typeof header === 'string' && header.length > MAX_HEADER)) {
        return { ok: false, status: 401, code: 'InvalidToken', message: 'the Authorization header is malformed' };
      }
      const raw = tokenFromHeader(header);
      if (raw === undefined) {
        return {
          ok: false,
          status: 401,
          code: 'InvalidToken',
          message: "no Authorization header: send the job's GitLab ID token (id_tokens: AWS_CONTAINER_AUTHORIZATION_TOKEN in .gitlab-ci.yml)",
        };
      }
      const key = createHash('sha256').update(raw).digest('base64url');
      const hit = remembered.get(key);
      if (hit !== undefined) {
        if ((hit.claims.exp + opts.clockSkewSeconds) * 1000 > now()) return { ok: true, token: hit };
        remembered.delete(key);
      }
      try {
        const token = await opts.verify(raw);
        remembered.set(key, token);
        return { ok: true, token };
      } catch (err) {
        // BuildFailure = the token's fault; anything else = the broker cannot get the keys (GitLab unreachable).
        if (err instanceof BuildFailure) return { ok: false, status: 401, code: 'InvalidToken', message: err.message.replace(/^The job's /, 'The ') };
        return { ok: false, status: 503, code: 'ServiceUnavailable', message: `the ID token cannot be verified right now: ${(err as Error).message}` };
      }
    },
  };
}
