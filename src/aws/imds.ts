// A small IMDSv2 client the driver itself uses (never the job): token, role name, credentials, instance id, region.

import type { AwsCredentials } from '../core/credential-types.js';

/** The part of the global fetch this client needs; tests pass a fake. */
export type FetchLike = (
  url: string,
  init: { method: 'GET' | 'PUT'; headers: Record<string, string>; signal?: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface ImdsOptions {
  /** Base URL without a trailing slash, from imdsEndpoint() in clients.ts. */
  endpoint: string;
  fetch?: FetchLike;
  /** Lifetime asked for the session token; AWS allows at most 21600. */
  tokenTtlSeconds?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  now?: () => number;
}

export interface ImdsClient {
  instanceId(): Promise<string>;
  /** The region from the instance identity document. */
  region(): Promise<string>;
  /** The role the metadata service serves credentials for; undefined when the instance has no profile. */
  roleName(): Promise<string | undefined>;
  /** The credentials served for that role (as the metadata service has them now). */
  credentials(roleName: string): Promise<AwsCredentials>;
}

/** A metadata-service request that failed; never carries credentials. */
export class ImdsError extends Error {
  override readonly name = 'ImdsError';
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
  }
}

const ROLE_PATH = '/latest/meta-data/iam/security-credentials/';

export function createImdsClient(opts: ImdsOptions): ImdsClient {
  const doFetch: FetchLike = opts.fetch ?? ((url, init) => fetch(url, init));
  const ttl = opts.tokenTtlSeconds ?? 21600;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const now = opts.now ?? Date.now;
  const base = opts.endpoint.replace(/\/+$/, '');
  let cached: { token: string; until: number } | undefined;

  async function call(method: 'GET' | 'PUT', path: string, headers: Record<string, string>) {
    try {
      const res = await doFetch(`${base}${path}`, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      throw new ImdsError(`instance metadata service at ${base} did not answer ${method} ${path}`, undefined, {
        cause: err,
      });
    }
  }

  async function token(): Promise<string> {
    if (cached !== undefined && now() < cached.until) return cached.token;
    const res = await call('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    if (res.status !== 200 || res.body === '') {
      throw new ImdsError(`instance metadata service refused a session token (HTTP ${res.status})`, res.status);
    }
    // Renew well before the token lapses.
    cached = { token: res.body, until: now() + (ttl * 1000) / 2 };
    return res.body;
  }

  /** GET with the session token; a 401 means the token lapsed, so one retry with a fresh one. Returns undefined on 404. */
  async function get(path: string): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      const res = await call('GET', path, { 'X-aws-ec2-metadata-token': await token() });
      if (res.status === 200) return res.body;
      if (res.status === 404) return undefined;
      if (res.status === 401 && attempt === 0) {
        cached = undefined;
        continue;
      }
      throw new ImdsError(`instance metadata service answered HTTP ${res.status} for ${path}`, res.status);
    }
  }

  async function required(path: string): Promise<string> {
    const body = await get(path);
    if (body === undefined || body.trim() === '') {
      throw new ImdsError(`instance metadata service has nothing at ${path}`, 404);
    }
    return body.trim();
  }

  return {
    instanceId: () => required('/latest/meta-data/instance-id'),

    async region() {
      const doc = parseJson(await required('/latest/dynamic/instance-identity/document'), 'identity document');
      const region = doc.region;
      if (typeof region !== 'string' || region === '') {
        throw new ImdsError('instance identity document has no region', undefined);
      }
      return region;
    },

    async roleName() {
      const body = await get(ROLE_PATH);
      const first = body?.split('\n')[0]?.trim();
      return first === undefined || first === '' ? undefined : first;
    },

    async credentials(roleName: string) {
      const body = await get(`${ROLE_PATH}${encodeURIComponent(roleName)}`);
      if (body === undefined) {
        throw new ImdsError(`instance metadata service serves no credentials for role ${roleName}`, 404);
      }
      return parseCredentials(body, roleName);
    },
  };
}

function parseJson(body: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new ImdsError(`instance metadata service returned an unreadable ${what}`, undefined, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImdsError(`instance metadata service returned an unreadable ${what}`, undefined);
  }
  return value as Record<string, unknown>;
}

/** Credentials JSON: Code, LastUpdated, Type, AccessKeyId, SecretAccessKey, Token, Expiration. */
function parseCredentials(body: string, roleName: string): AwsCredentials {
  const doc = parseJson(body, `credentials document for role ${roleName}`);
  if (doc.Code !== 'Success') {
    throw new ImdsError(`instance metadata service reports ${String(doc.Code)} for role ${roleName}`, undefined);
  }
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = doc;
  const expiration = typeof Expiration === 'string' ? new Date(Expiration) : undefined;
  if (
    typeof AccessKeyId !== 'string' ||
    typeof SecretAccessKey !== 'string' ||
    typeof Token !== 'string' ||
    AccessKeyId === '' ||
    SecretAccessKey === '' ||
    expiration === undefined ||
    Number.isNaN(expiration.getTime())
  ) {
    throw new ImdsError(`credentials document for role ${roleName} lacks a key, secret, token or expiration`, undefined);
  }
  return { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: Token, expiration };
}
