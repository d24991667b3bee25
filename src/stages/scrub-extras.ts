// Scrub steps beyond the common ones: restore a swapped instance profile, close IMDS again, free the host lock.

import type { JobroleConfig } from '../config/types.js';
import type { JobLog } from '../runner/job-log.js';
import type { ScrubStep } from '../state/scrub-job.js';
import type { JobState } from '../state/types.js';
import { ec2Client, imdsEndpoint } from '../aws/clients.js';
import { closeImds } from './imds-access.js';

export async function extraScrubSteps(config: JobroleConfig, state: JobState, log: JobLog): Promise<ScrubStep[]> {
  const steps: ScrubStep[] = [];
  const undo = state.instanceProfile;
  const baseline = state.instanceProfileBaseline;
  if (state.imdsOpened === true) {
    steps.push({ name: 'close the metadata service to job users again', run: () => closeImds(config) });
  }
  if (undo !== undefined && baseline !== undefined) {
    steps.push({
      name: `restore the instance profile of ${undo.instanceId}`,
      run: async () => {
        const [{ restoreInstanceProfile, RestoreFailed }, { createImdsClient }, { markUnhealthy }] = await Promise.all([
          import('../credentials/instance-profile.js'), import('../aws/imds.js'), import('../state/host-health.js'),
        ]);
        try {
          await restoreInstanceProfile(undo, {
            baseline,
            ec2: (credentials) => ec2Client(config.aws, credentials !== undefined ? { credentials } : {}),
            imds: createImdsClient({ endpoint: imdsEndpoint(config.aws) }),
            timeoutMs: config.instance_profile.propagation_timeout * 1000,
            pollIntervalMs: config.instance_profile.poll_interval_ms,
            progress: (line) => log.line(`jobrole: ${line}`),
          });
        } catch (err) {
          if (err instanceof RestoreFailed) await markUnhealthy(config.driver.state_dir, err.message);
          throw err;
        }
      },
    });
  }
  steps.push({
    name: 'release the host lock',
    run: async () => {
      const { releaseHostLock } = await import('../state/host-lock.js');
      await releaseHostLock(config.driver.state_dir, state.key);
    },
  });
  return steps;
}
