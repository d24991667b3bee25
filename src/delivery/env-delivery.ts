// Delivery env: the credentials themselves as AWS_* variables in the job's environment (static, never renewed).

import type { DeliveryMethod } from './delivery.js';
import { credentialEnv, regionEnv } from './env.js';

export const envDelivery: DeliveryMethod = {
  name: 'env',
  describe: 'AWS_* environment variables (not refreshed)',
  renews: false,
  async deliver({ config, obtained, secrets, persist }) {
    await persist({ secrets, jobEnv: { ...credentialEnv(obtained.session.credentials), ...regionEnv(config.aws.region) } });
  },
  // The variables live only in the state, which cleanup empties before anything else.
  teardown: () => [],
};
