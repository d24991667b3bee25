// A GitLab-shaped OIDC issuer: discovery document, JWKS, ID tokens with GitLab's claims, key rotation.
import { createSecretKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SignJWT, UnsecuredJWT, createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { AwsError } from './errors.js';
import { close, listen } from './http-util.js';
import { jsonText } from './json-text.js';

export type TokenAlg = 'RS256' | 'RS384' | 'RS512' | 'HS256' | 'none';

export interface MintOptions {
  /** Header kid; default the current signing key's. */
  kid?: string;
  alg?: TokenAlg;
  /** Seconds from now until exp (negative = already expired); default 3600. */
  expiresIn?: number;
  /** 'foreign' signs with a key the issuer never published (same kid unless given). */
  signWith?: 'issuer' | 'foreign';
}

export interface OidcIssuer {
  issuer: string;
  mintToken(claims?: Record<string, unknown>, opts?: MintOptions): Promise<string>;
  /** A new signing key; the previous one stays published unless keepOld is false. */
  rotateKeys(opts?: { keepOld?: boolean }): void;
  /** How many times the JWKS was fetched (to test caching). */
  readonly jwksFetches: number;
  /** Verifies a token the way STS does: published key, RS256, this issuer, not expired. Throws AwsError. */
  verify(token: string, now?: Date): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: JWK;
}

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(16).toString('base64url');
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, jwk };
}

/** GitLab's claim set for a job; `sub` derives from project_path, ref_type and ref unless given. */
export function gitlabClaims(issuer: string, claims: Record<string, unknown>, nowSec: number, expiresIn: number): Record<string, unknown> {
  const project = jsonText(claims['project_path'], 'group/project');
  const refType = jsonText(claims['ref_type'], 'branch');
  const ref = jsonText(claims['ref'], 'main');
  const base: Record<string, unknown> = {
    namespace_id: '7',
    namespace_path: project.includes('/') ? project.slice(0, project.lastIndexOf('/')) : project,
    project_id: '42',
    project_path: project,
    user_id: '5',
    user_login: 'alice',
    user_email: 'alice@example.com',
    user_access_level: 'developer',
    pipeline_id: '1001',
    pipeline_source: 'push',
    job_id: '2002',
    ref,
    ref_type: refType,
    ref_path: refType === 'tag' ? `refs/tags/${ref}` : `refs/heads/${ref}`,
    ref_protected: 'false',
    runner_id: 1,
    runner_environment: 'self-hosted',
    sha: '0123456789abcdef0123456789abcdef01234567',
    project_visibility: 'private',
    ci_config_ref_uri: `${issuer.replace(/^https?:\/\//, '')}/${project}//.gitlab-ci.yml@refs/heads/${ref}`,
    ci_config_sha: '0123456789abcdef0123456789abcdef01234567',
    jti: randomUUID(),
    iss: issuer,
    iat: nowSec,
    nbf: nowSec - 5,
    exp: nowSec + expiresIn,
    aud: issuer,
  };
  const merged = { ...base, ...claims };
  if (claims['sub'] === undefined) merged['sub'] = `project_path:${project}:ref_type:${refType}:ref:${ref}`;
  return merged;
}

export async function startOidcIssuer(now: () => number = Date.now, port = 0): Promise<OidcIssuer> {
  let keys: SigningKey[] = [newKey()];
  const foreign = newKey();
  let fetches = 0;
  let issuer = '';
  const jwks = (): JSONWebKeySet => ({ keys: keys.map((k) => k.jwk) });

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    let body: unknown;
    if (path === '/.well-known/openid-configuration') {
      body = {
        issuer,
        authorization_endpoint: `${issuer}/oauth/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        userinfo_endpoint: `${issuer}/oauth/userinfo`,
        jwks_uri: `${issuer}/oauth/discovery/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'project_path', 'ref', 'ref_type', 'ref_protected'],
      };
    } else if (path === '/oauth/discovery/keys') {
      fetches++;
      body = jwks();
    }
    const text = body === undefined ? '{"error":"404 Not Found"}' : JSON.stringify(body);
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  issuer = await listen(server, port);

  return {
    issuer,
    get jwksFetches() {
      return fetches;
    },
    rotateKeys(opts = {}) {
      keys = opts.keepOld === false ? [newKey()] : [newKey(), ...keys];
    },
    async mintToken(claims = {}, opts = {}) {
      const nowSec = Math.floor(now() / 1000);
      const payload = gitlabClaims(issuer, claims, nowSec, opts.expiresIn ?? 3600);
      const alg = opts.alg ?? 'RS256';
      const current = keys[0] as SigningKey;
      if (alg === 'none') return new UnsecuredJWT(payload).encode();
      if (alg === 'HS256') {
        return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', kid: opts.kid ?? current.kid }).sign(createSecretKey(randomBytes(32)));
      }
      const key = opts.signWith === 'foreign' ? foreign : current;
      return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', kid: opts.kid ?? current.kid }).sign(key.privateKey);
    },
    async verify(token, at) {
      const currentDate = at ?? new Date(now());
      try {
        const { payload } = await jwtVerify(token, createLocalJWKSet(jwks()), { algorithms: ['RS256'], currentDate });
        if (payload.iss !== issuer)
          throw new AwsError('InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${String(payload.iss)}`, 400);
        return payload;
      } catch (err) {
        if (err instanceof AwsError) throw err;
        if (err instanceof joseErrors.JWTExpired)
          throw new AwsError('ExpiredTokenException', 'Token expired: current date/time must be before the expiration date/time.', 400);
        if (err instanceof joseErrors.JWKSNoMatchingKey)
          throw new AwsError('InvalidIdentityToken', "No matching key found in the JWKS of the OpenID Connect provider for the token's kid.", 400);
        if (err instanceof joseErrors.JWSSignatureVerificationFailed)
          throw new AwsError('InvalidIdentityToken', 'The signature of the web identity token is invalid.', 400);
        throw new AwsError('InvalidIdentityToken', `The web identity token is not valid: ${(err as Error).message}`, 400);
      }
    },
    stop: () => close(server),
  };
}
