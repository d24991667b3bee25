// Doctor: is the config valid, and who runs the driver (root, or isolation explicitly "none").

import type { JobroleConfig } from '../../config/types.js';
import { fail, pass, warn, type CheckResult } from './result.js';

export function checkConfigValid(config: JobroleConfig | undefined, configError: string | undefined): CheckResult {
  if (config === undefined) {
    return fail(`config invalid: ${configError ?? 'no config was loaded'}: fix it (see config.example.toml) and run jobrole doctor again`);
  }
  const central = config.policy.ssm_parameter !== '' ? `, plus central policy ${config.policy.ssm_parameter}` : '';
  return pass(`config valid (${config.source}, ${config.roles.length} role${config.roles.length === 1 ? '' : 's'}${central})`);
}

export function checkPrivileges(config: JobroleConfig, uid: number): CheckResult[] {
  const out: CheckResult[] = [];
  if (uid === 0) out.push(pass('running as root'));
  else if (config.job.isolation === 'none') out.push(pass(`running as uid ${uid}; [job].isolation = "none", so root is not needed`));
  else {
    out.push(
      fail(
        `running as uid ${uid}, but [job].isolation = "users" needs root (job users, the IMDS firewall rule, the private state dir): ` +
          'run gitlab-runner (and this doctor) as root, or set [job].isolation = "none" knowing jobs then run as the runner\'s user',
      ),
    );
  }
  if (config.job.isolation === 'none') {
    out.push(
      warn('[job].isolation = "none": jobs run as the runner\'s user and can reach the host\'s own credentials (IMDS); use only on single-purpose hosts'),
    );
  }
  return out;
}
