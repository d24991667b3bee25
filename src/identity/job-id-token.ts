// Prepare's ID-token step: verify the job's GitLab ID token when one is supplied and verification is configured.

import { join } from 'node:path';
import type { JobroleConfig } from '../config/types.js';
import type { VerifiedIdToken } from './claims.js';
import type { JobLog } from '../core/job-log.js';
import { stateLayout } from '../state/job-store.js';

/** The verified token, or undefined when the job supplied none or verification is not configured. */
export async function verifyJobIdToken(config: JobroleConfig, env: NodeJS.ProcessEnv, log: JobLog): Promise<VerifiedIdToken | undefined> {
  const name = config.job.id_token_variable;
  const raw = env[`CUSTOM_ENV_${name}`];
  if (raw === undefined || raw.trim() === '') return undefined;
  const g = config.gitlab;
  if (g.url === '') {
    log.warn(`the job supplies ${name}, but this runner has no ID-token verification configured ([gitlab].url); the token is ignored`);
    return undefined;
  }
  const [{ verifyIdToken }, { jwksFromDiscovery }, { jwksFromFile }] = await Promise.all([
    import('./verify.js'),
    import('./jwks-discovery.js'),
    import('./jwks-file.js'),
  ]);
  const keys =
    g.jwks_file !== ''
      ? jwksFromFile(g.jwks_file)
      : jwksFromDiscovery({
          issuer: g.url,
          cachePath: join(stateLayout(config.driver.state_dir).cache, 'jwks.json'),
          ttlSeconds: g.jwks_cache_ttl,
          warn: (m) => log.warn(m),
        });
  return verifyIdToken(raw.trim(), { issuer: g.url, audience: g.audience, keys, clockSkewSeconds: g.clock_skew, tokenName: name });
}
