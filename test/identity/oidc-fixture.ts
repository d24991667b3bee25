// Test fixture: a tiny GitLab-like OIDC issuer on 127.0.0.1 (discovery + JWKS, counting requests) and a token minter.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicJwk };
}

export interface FakeIssuer {
  url: string;
  /** Requests per path. */
  hits: Map<string, number>;
  keysHits(): number;
  total(): number;
  setKeys(keys: SigningKey[]): void;
  /** Answer every request with this status instead (GitLab down). */
  failWith(status: number | undefined): void;
  /** Override the jwks_uri the discovery document names. */
  setJwksUri(uri: string | undefined): void;
  close(): Promise<void>;
}

export async function startIssuer(keys: SigningKey[]): Promise<FakeIssuer> {
  let current = keys;
  let failing: number | undefined;
  let jwksUriOverride: string | undefined;
  const hits = new Map<string, number>();
  let url = '';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (failing !== undefined) return send(failing, { error: 'down' });
    if (path === '/.well-known/openid-configuration') {
      return send(200, { issuer: url, jwks_uri: jwksUriOverride ?? `${url}/oauth/discovery/keys`, id_token_signing_alg_values_supported: ['RS256'] });
    }
    if (path === '/oauth/discovery/keys') return send(200, { keys: current.map((k) => k.publicJwk) });
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    keysHits: () => hits.get('/oauth/discovery/keys') ?? 0,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    setKeys: (k) => {
      current = k;
    },
    failWith: (s) => {
      failing = s;
    },
    setJwksUri: (u) => {
      jwksUriOverride = u;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A fixed "now" so expiry is deterministic. */
export const NOW = new Date('2030-06-01T12:00:00Z');
export const NOW_S = Math.floor(NOW.getTime() / 1000);

export function gitlabClaims(issuer: string, audience: string, over: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: issuer,
    aud: audience,
    sub: 'project_path:group/app:ref_type:branch:ref:main',
    iat: NOW_S - 10,
    nbf: NOW_S - 15,
    exp: NOW_S + 3600,
    jti: 'f00d',
    namespace_path: 'group',
    project_path: 'group/app',
    project_id: '22',
    pipeline_id: '1001',
    pipeline_source: 'push',
    job_id: '4242',
    ref: 'main',
    ref_type: 'branch',
    ref_protected: 'true',
    environment: 'production',
    environment_protected: 'false',
    deployment_tier: 'production',
    user_login: 'alice',
    ...over,
  };
}

export async function mint(key: SigningKey, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
}
