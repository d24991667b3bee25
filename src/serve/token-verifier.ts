// The broker's ID-token verification: the driver's verifyIdToken and JWKS cache, with the broker's audience.

import type { JobroleConfig, ServeSection } from '../config/types.js';
import type { VerifiedIdToken } from '../identity/claims.js';
import type { JwksSource } from '../identity/jwks-source.js';
import { verifyIdToken } from '../identity/verify.js';

/** The variable a job's id_tokens: entry should use: the SDKs send it as the Authorization header. */
export const TOKEN_VARIABLE = 'AWS_CONTAINER_AUTHORIZATION_TOKEN';

export function brokerVerifier(config: JobroleConfig, settings: Pick<ServeSection, 'audience'>, keys: JwksSource): (raw: string) => Promise<VerifiedIdToken> {
  const g = config.gitlab;
  return (raw) => verifyIdToken(raw, { issuer: g.url, audience: settings.audience, keys, clockSkewSeconds: g.clock_skew, tokenName: TOKEN_VARIABLE });
}
