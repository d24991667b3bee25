// The composition root of the stage and gc processes: builds every service once from the config.

import { auditLog } from '../audit/audit-log.js';
import { realAwsServices } from '../aws/services.js';
import type { JobroleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import { verifyJobIdToken } from '../identity/job-id-token.js';
import { withFleetPolicy } from '../policy/fleet-policy.js';
import { stateLayout } from '../state/job-store.js';
import { realJobHost } from './job-host.js';
import { DELIVERY_REGISTRY, STRATEGY_REGISTRY } from './registry.js';
import type { Services } from './services.js';

export function composeServices(config: JobroleConfig, log: JobLog, cliPath: string): Services {
  const layout = stateLayout(config.driver.state_dir);
  return {
    config,
    log,
    layout,
    now: () => new Date(),
    audit: auditLog(config.driver.audit_log, (e) => log.warn(`cannot write the audit log ${config.driver.audit_log}: ${e.message}`)),
    aws: realAwsServices,
    fleetPolicy: () => withFleetPolicy(config, log, realAwsServices),
    verifyIdToken: (effective, env) => verifyJobIdToken(effective, env, log),
    host: realJobHost(config, layout, log),
    strategies: STRATEGY_REGISTRY,
    deliveries: DELIVERY_REGISTRY,
    cliPath,
  };
}
