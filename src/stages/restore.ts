// `jobrole gc --restore`: the operator's way back from an unhealthy host whose instance profile could not be restored.

import type { JobroleConfig } from '../config/types.js';
import type { JobLog } from '../runner/job-log.js';
import { ec2Client, imdsEndpoint } from '../aws/clients.js';
import { listJobKeys, readJobState, stateLayout } from '../state/job-store.js';
import { collectGarbage } from './gc.js';

export async function operatorRestore(config: JobroleConfig, log: JobLog): Promise<number> {
  const layout = stateLayout(config.driver.state_dir);
  const [{ restoreInstanceProfile, restoreInstanceProfileAsOperator }, { createImdsClient }, { clearUnhealthy, readHealth }] = await Promise.all([
    import('../credentials/instance-profile.js'), import('../aws/imds.js'), import('../state/host-health.js'),
  ]);
  const imds = createImdsClient({ endpoint: imdsEndpoint(config.aws) });
  let failed = 0;
  for (const key of await listJobKeys(layout)) {
    const state = await readJobState(layout, key).catch(() => undefined);
    const undo = state?.instanceProfile;
    if (state === undefined || undo === undefined) continue;
    const common = {
      imds,
      timeoutMs: config.instance_profile.propagation_timeout * 1000,
      pollIntervalMs: config.instance_profile.poll_interval_ms,
      progress: (line: string) => log.line(line),
    };
    try {
      const baseline = state.instanceProfileBaseline;
      if (baseline !== undefined && Date.parse(baseline.expiration) > Date.now()) {
        await restoreInstanceProfile(undo, { ...common, baseline, ec2: (c) => ec2Client(config.aws, c !== undefined ? { credentials: c } : {}) });
      } else {
        // The captured credentials are gone: sign with what the operator provides (environment, profile).
        await restoreInstanceProfileAsOperator(undo, { ...common, ...(baseline?.roleName !== undefined ? { baselineRoleName: baseline.roleName } : {}), ec2: (c) => ec2Client(config.aws, c !== undefined ? { credentials: c } : {}) });
      }
      log.ok(`restored the instance profile of ${undo.instanceId} (job ${state.job.id})`);
    } catch (err) {
      failed++;
      log.error(`job ${state.job.id}: ${(err as Error).message}`);
    }
  }
  if (failed > 0) return 1;
  const health = await readHealth(config.driver.state_dir);
  await clearUnhealthy(config.driver.state_dir);
  if (!health.healthy) log.ok(`host marked healthy again (it was unhealthy since ${health.since}: ${health.reason})`);
  const r = await collectGarbage(config, log, { all: true });
  return r.failed.length > 0 ? 1 : 0;
}
