// GitLab's signing keys for a config: [gitlab].jwks_file, else OIDC discovery cached in <state>/cache/jwks.json.

import { join } from 'node:path';
import type { JobroleConfig } from '../config/types.js';
import { stateLayout } from '../state/job-store.js';
import { jwksFromDiscovery } from './jwks-discovery.js';
import { jwksFromFile } from './jwks-file.js';
import type { JwksSource } from './jwks-source.js';

/** The one key source prepare, explain and `jobrole serve` verify with (the discovery cache file is shared). */
export function keySource(config: JobroleConfig, warn: (message: string) => void): JwksSource {
  const g = config.gitlab;
  return g.jwks_file !== ''
    ? jwksFromFile(g.jwks_file)
    : jwksFromDiscovery({ issuer: g.url, cachePath: join(stateLayout(config.driver.state_dir).cache, 'jwks.json'), ttlSeconds: g.jwks_cache_ttl, warn });
}
