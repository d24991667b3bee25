// The config a decision is made with: config.toml plus the fleet's central policy from SSM, when one is configured.

import type { JobroleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import { stateLayout } from '../state/job-store.js';
import { realAwsServices, type AwsServices } from '../aws/services.js';

export async function withFleetPolicy(
  config: JobroleConfig,
  log: Pick<JobLog, 'warn'>,
  aws: Pick<AwsServices, 'ssm'> = realAwsServices,
): Promise<JobroleConfig> {
  if (config.policy.ssm_parameter === '') return config;
  const { withCentralPolicy } = await import('./central.js');
  return withCentralPolicy(config, {
    ssm: () => aws.ssm(config.aws),
    cacheDir: stateLayout(config.driver.state_dir).cache,
    warn: (m) => log.warn(m),
  });
}
