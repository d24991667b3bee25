// The web-identity strategy: STS AssumeRoleWithWebIdentity with the job's verified GitLab ID token (no driver credentials).

import type { CredentialStrategy } from './strategy.js';
import { obtainFromSts } from './sts-obtain.js';

/** Nothing to undo: the session expires; cleanup stops whatever delivered it. */
export const webIdentityStrategy: CredentialStrategy = { name: 'web-identity', obtain: obtainFromSts, undo: () => [] };
