// The assume-role strategy: STS AssumeRole chained from the driver's own credentials (on EC2: the host's instance profile).

import type { CredentialStrategy } from './strategy.js';
import { obtainFromSts } from './sts-obtain.js';

/** Nothing to undo: an STS session cannot be revoked; it expires, and cleanup stops whatever delivered it. */
export const assumeRoleStrategy: CredentialStrategy = { name: 'assume-role', obtain: obtainFromSts, undo: () => [] };
