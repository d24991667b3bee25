// The config a decision is made with: config.toml plus the fleet's central policy from SSM, when one is configured.

import type { JobroleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import { stateLayout } from '../state/job-store.js';

export async function withFleetPolicy(config: JobroleConfig, log: Pick<JobLog, 'warn'>): Promise<JobroleConfig> {
  if (config.policy.ssm_parameter === '') return config;
  const [{ withCentralPolicy }, { ssmClient }] = await Promise.all([import('./central.js'), import('../aws/clients.js')]);
  return withCentralPolicy(config, {
    ssm: () => ssmClient(config.aws),
    cacheDir: stateLayout(config.driver.state_dir).cache,
    warn: (m) => log.warn(m),
  });
}
