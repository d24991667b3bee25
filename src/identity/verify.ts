// Verifies a GitLab ID token (RS256 only) against the instance's keys and returns its claims, or says why not.

import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { BuildFailure } from '../core/exit-codes.js';
import type { VerifiedIdToken } from './claims.js';
import { toVerifiedClaims } from './claims-map.js';
import { normaliseIssuer } from './issuer.js';
import { hasKeyFor, type JwksSource } from './jwks-source.js';

export interface VerifyOptions {
  /** [gitlab].url; `iss` must equal it (trailing slashes ignored). */
  issuer: string;
  /** [gitlab].audience; `aud` must be or contain it. */
  audience: string;
  keys: JwksSource;
  /** [gitlab].clock_skew. */
  clockSkewSeconds: number;
  now?: () => Date;
  /** How messages name the token, e.g. the CI variable JOBROLE_ID_TOKEN. */
  tokenName?: string;
}

const MAX_TOKEN = 16 * 1024;
const SEGMENT = /^[A-Za-z0-9_-]*$/;

/** An attacker-chosen value, shown safely: quoted, printable, short. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function iso(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

export async function verifyIdToken(raw: string, opts: VerifyOptions): Promise<VerifiedIdToken> {
  const name = opts.tokenName ?? 'ID token';
  const refuse = (reason: string, cause?: unknown): BuildFailure =>
    new BuildFailure(`The job's ${name} was rejected: ${reason}.`, cause === undefined ? {} : { cause });
  const token = raw.trim();
  const now = (opts.now ?? (() => new Date()))();
  const nowSec = Math.floor(now.getTime() / 1000);
  const skew = opts.clockSkewSeconds;

  if (token === '') throw refuse('it is empty (add id_tokens: to the job in .gitlab-ci.yml)');
  if (token.length > MAX_TOKEN) throw refuse(`it is ${token.length} characters long, more than any GitLab ID token`);
  const parts = token.split('.');
  if (parts.length === 5) throw refuse('it is an encrypted JWE, not a signed GitLab ID token');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p)) || parts[0] === '' || parts[1] === '') {
    throw refuse('it is not a JWT (expected three base64url parts separated by dots)');
  }
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch (err) {
    throw refuse('its header is not valid base64url JSON, so it is not a JWT', err);
  }
  if (header.alg !== 'RS256') {
    const what = header.alg === undefined ? 'no signing algorithm' : header.alg === 'none' ? 'alg "none" (it is unsigned)' : `alg ${shown(header.alg)}`;
    throw refuse(`it uses ${what}; only RS256, which GitLab signs with, is accepted`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw refuse('its key id (kid) is not a string');
  const kid = header.kid;

  let jwks = await opts.keys.keys();
  if (!hasKeyFor(jwks, kid)) {
    const again = await opts.keys.refresh();
    if (again.jwks === undefined || !hasKeyFor(again.jwks, kid)) {
      const why = again.jwks === undefined ? again.why : 'not even after fetching them again';
      throw refuse(
        `it is signed with key id ${shown(kid)}, which is not among ${opts.keys.description} (${why}); ` + 'it was not signed by this GitLab instance',
      );
    }
    jwks = again.jwks;
  }

  const issuer = normaliseIssuer(opts.issuer);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ['RS256'],
      issuer: [issuer, `${issuer}/`],
      audience: opts.audience,
      requiredClaims: ['sub', 'exp', 'project_path'],
      clockTolerance: skew,
      currentDate: now,
    }));
  } catch (err) {
    throw explain(err, { issuer, audience: opts.audience, nowSec, skew, name, refuse });
  }

  if (typeof payload.iat === 'number' && payload.iat > nowSec + skew) {
    throw refuse(
      `it claims to be issued at ${iso(payload.iat)}, ${payload.iat - nowSec} s in the future ` +
        `(more than the ${skew} s of clock skew allowed); check this host's clock`,
    );
  }
  const { sub, exp, iss } = payload;
  const projectPath = payload.project_path;
  if (typeof sub !== 'string' || sub === '') throw refuse('its "sub" claim is missing or empty');
  if (typeof projectPath !== 'string' || projectPath === '') throw refuse('its "project_path" claim is missing or empty; it is not a GitLab CI ID token');
  if (typeof exp !== 'number' || typeof iss !== 'string') throw refuse('its "exp" or "iss" claim is missing');
  return { claims: toVerifiedClaims({ ...payload, sub, exp, iss, project_path: projectPath }), raw: token };
}

interface ExplainCtx {
  issuer: string;
  audience: string;
  nowSec: number;
  skew: number;
  name: string;
  refuse: (reason: string, cause?: unknown) => BuildFailure;
}

/** Maps jose's errors to reasons an operator or job author can act on. The token itself is never quoted. */
function explain(err: unknown, c: ExplainCtx): BuildFailure {
  const { refuse } = c;
  if (err instanceof errors.JWTExpired) {
    const exp = err.payload.exp;
    const when = typeof exp === 'number' ? ` at ${iso(exp)}, ${c.nowSec - exp} s ago` : '';
    return refuse(`it expired${when} (clock skew allowed: ${c.skew} s); an ID token lasts only as long as the job's timeout`, err);
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const p = err.payload;
    if (err.reason === 'missing') return refuse(`its required ${shown(err.claim)} claim is missing; it is not a GitLab CI ID token`, err);
    switch (err.claim) {
      case 'iss':
        return refuse(`it was issued by ${shown(p.iss)}, not by this runner's GitLab ${shown(c.issuer)} ([gitlab].url)`, err);
      case 'aud':
        return refuse(
          `its audience ${shown(p.aud)} is not ${shown(c.audience)}; set it in .gitlab-ci.yml: ` +
            `id_tokens: { ${c.name === 'ID token' ? 'JOBROLE_ID_TOKEN' : c.name}: { aud: ${shown(c.audience)} } }`,
          err,
        );
      case 'nbf': {
        const nbf = p.nbf;
        return refuse(
          `it is not valid before ${typeof nbf === 'number' ? iso(nbf) : shown(nbf)} ` + `(clock skew allowed: ${c.skew} s); check this host's clock`,
          err,
        );
      }
      default:
        return refuse(`its ${shown(err.claim)} claim is invalid`, err);
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
    return refuse("its signature does not match GitLab's key: the token was altered or signed by someone else", err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return refuse('its algorithm is not RS256', err);
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) {
    return refuse('it is malformed (its payload is not a valid JWT claims set)', err);
  }
  if (err instanceof errors.JOSEError) return refuse(`it could not be verified (${err.code})`, err);
  return refuse('it could not be verified', err);
}
