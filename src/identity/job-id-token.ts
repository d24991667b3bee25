// Prepare's ID-token step: verify the job's GitLab ID token when one is supplied and verification is configured.

import type { JobroleConfig } from '../config/types.js';
import type { VerifiedIdToken } from './claims.js';
import type { JobLog } from '../core/job-log.js';

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
  const [{ verifyIdToken }, { keySource }] = await Promise.all([import('./verify.js'), import('./key-source.js')]);
  const keys = keySource(config, (m) => log.warn(m));
  return verifyIdToken(raw.trim(), { issuer: g.url, audience: g.audience, keys, clockSkewSeconds: g.clock_skew, tokenName: name });
}
