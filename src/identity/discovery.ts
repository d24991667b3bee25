// OIDC discovery: the issuer's openid-configuration names jwks_uri (same origin only), which serves the keys.

import { SystemFailure } from '../core/exit-codes.js';
import { discoveryUrl, normaliseIssuer } from './issuer.js';
import { parseJwks, type JSONWebKeySet } from './jwks-source.js';

/** The subset of fetch the driver uses; injected so tests can count calls and hosts can add proxies. */
export type FetchLike = (url: string, init: { signal: AbortSignal; redirect: 'error'; headers: Record<string, string> }) => Promise<Response>;

export interface Discovered {
  jwksUri: string;
  jwks: JSONWebKeySet;
}

const MAX_BODY = 1024 * 1024;

async function getJson(fetchFn: FetchLike, url: string, what: string, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
  } catch (err) {
    const reason = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String((err as Error)?.message ?? err);
    throw new SystemFailure(`Cannot fetch GitLab's ${what} from ${url}: ${reason}.`, { cause: err });
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new SystemFailure(`Cannot fetch GitLab's ${what} from ${url}: HTTP ${res.status}.`);
  }
  const text = await res.text();
  if (text.length > MAX_BODY) throw new SystemFailure(`GitLab's ${what} at ${url} is larger than ${MAX_BODY} bytes; refusing it.`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SystemFailure(`GitLab's ${what} at ${url} is not JSON.`, { cause: err });
  }
}

/**
 * Fetches the issuer's discovery document and then its key set. The discovery document must name the same
 * issuer, and jwks_uri must be on the issuer's origin: keys from anywhere else could sign anything.
 */
export async function discoverJwks(issuer: string, fetchFn: FetchLike, timeoutMs: number): Promise<Discovered> {
  const iss = normaliseIssuer(issuer);
  const url = discoveryUrl(iss);
  const doc = await getJson(fetchFn, url, 'OIDC discovery document', timeoutMs);
  if (typeof doc !== 'object' || doc === null) throw new SystemFailure(`GitLab's OIDC discovery document at ${url} is not a JSON object.`);
  const { issuer: docIssuer, jwks_uri: jwksUri } = doc as { issuer?: unknown; jwks_uri?: unknown };
  if (typeof docIssuer !== 'string' || normaliseIssuer(docIssuer) !== iss) {
    throw new SystemFailure(
      `The OIDC discovery document at ${url} names issuer ${JSON.stringify(docIssuer)}, ` +
        `not ${JSON.stringify(iss)}: set [gitlab].url to exactly the GitLab instance's external URL.`,
    );
  }
  if (typeof jwksUri !== 'string') throw new SystemFailure(`The OIDC discovery document at ${url} has no jwks_uri.`);
  let keysUrl: URL;
  try {
    keysUrl = new URL(jwksUri);
  } catch {
    throw new SystemFailure(`The OIDC discovery document at ${url} has an invalid jwks_uri ${JSON.stringify(jwksUri)}.`);
  }
  if (keysUrl.origin !== new URL(iss).origin) {
    throw new SystemFailure(
      `Refusing jwks_uri ${JSON.stringify(jwksUri)} from ${url}: it is not on the issuer's origin ` +
        `${new URL(iss).origin}, so its keys cannot be trusted to speak for ${iss}.`,
    );
  }
  const body = await getJson(fetchFn, keysUrl.href, 'JWKS', timeoutMs);
  const parsed = parseJwks(body);
  if ('error' in parsed) throw new SystemFailure(`GitLab's JWKS at ${keysUrl.href} is unusable: ${parsed.error}.`);
  return { jwksUri: keysUrl.href, jwks: parsed.jwks };
}

/** Global fetch; the caller's AbortSignal carries the timeout. */
export const defaultFetch: FetchLike = (url, init) => fetch(url, init);
