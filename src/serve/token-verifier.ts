// The broker's ID-token verification: the driver's verifyIdToken and JWKS cache, with the broker's audience.

import { join } from 'node:path';
import type { JobroleConfig, ServeSection } from '../config/types.js';
import type { VerifiedIdToken } from '../identity/claims.js';
import { jwksFromDiscovery } from '../identity/jwks-discovery.js';
import { jwksFromFile } from '../identity/jwks-file.js';
import type { JwksSource } from '../identity/jwks-source.js';
import { verifyIdToken } from '../identity/verify.js';
import { stateLayout } from '../state/job-store.js';

/** The variable a job's id_tokens: entry should use: the SDKs send it as the Authorization header. */
export const TOKEN_VARIABLE = 'AWS_CONTAINER_AUTHORIZATION_TOKEN';

/** GitLab's keys: [gitlab].jwks_file, else OIDC discovery cached on disk like the driver's (same file). */
export function keySource(config: JobroleConfig, warn: (m: string) => void): JwksSource {
  const g = config.gitlab;
  return g.jwks_file !== ''
    ? jwksFromFile(g.jwks_file)
    : jwksFromDiscovery({ issuer: g.url, cachePath: join(stateLayout(config.driver.state_dir).cache, 'jwks.json'), ttlSeconds: g.jwks_cache_ttl, warn });
}

export function brokerVerifier(config: JobroleConfig, settings: Pick<ServeSection, 'audience'>, keys: JwksSource): (raw: string) => Promise<VerifiedIdToken> {
  const g = config.gitlab;
  return (raw) => verifyIdToken(raw, { issuer: g.url, audience: settings.audience, keys, clockSkewSeconds: g.clock_skew, tokenName: TOKEN_VARIABLE });
}
