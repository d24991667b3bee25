// Prepare for strategy instance-profile: hold the host, swap the profile, let the job user reach IMDS.

import type { JobroleConfig, RoleConfig } from '../config/types.js';
import type { JobLog } from '../runner/job-log.js';
import type { JobState } from '../state/types.js';
import { ec2Client, imdsEndpoint, stsClient } from '../aws/clients.js';
import { readJobState, stateLayout } from '../state/job-store.js';
import { jobLiveness } from '../state/liveness.js';
import { credentialSecrets, regionEnv } from '../delivery/env.js';
import type { Delivered, Persist } from './prepare-credentials.js';
import { jobTimeoutEnd } from '../state/deadline.js';
import { openImdsFor } from './imds-access.js';


export async function prepareInstanceProfileJob(
  deps: { config: JobroleConfig; log: JobLog; persist: Persist; current: () => JobState },
  role: RoleConfig,
): Promise<Delivered> {
  const { config, log, persist, current } = deps;
  const layout = stateLayout(config.driver.state_dir);
  const [{ acquireHostLock }, { createImdsClient }, { prepareInstanceProfile }] = await Promise.all([
    import('../state/host-lock.js'), import('../aws/imds.js'), import('../credentials/instance-profile.js'),
  ]);
  await acquireHostLock(config.driver.state_dir, current().key, {
    isJobAlive: async (key) => {
      const s = await readJobState(layout, key).catch(() => undefined);
      return s !== undefined && (await jobLiveness(s)).live;
    },
  });
  const result = await prepareInstanceProfile(role, {
    imds: createImdsClient({ endpoint: imdsEndpoint(config.aws) }),
    ec2: (credentials) => ec2Client(config.aws, { credentials }),
    sts: (credentials) => stsClient(config.aws, { credentials }),
    settings: config.instance_profile,
    persistUndo: (undo, baseline) => persist({ instanceProfile: undo, instanceProfileBaseline: baseline }),
    // The strategy's lines already start with "jobrole: ".
    progress: (line) => log.line(line.startsWith('jobrole: ') ? line : `jobrole: ${line}`),
    deadline: new Date(jobTimeoutEnd(current())),
  });
  const user = current().user;
  if (user !== undefined) {
    await persist({ imdsOpened: true });
    await openImdsFor(config, user.uid);
    log.warn(`instance-profile strategy: ${user.name} may reach the instance metadata service for this job (one job per host)`);
  }
  // Debian's awscli 2.9 needs the trailing slash on this variable.
  const imds = config.aws.imds_endpoint !== '' ? { AWS_EC2_METADATA_SERVICE_ENDPOINT: `${config.aws.imds_endpoint.replace(/\/+$/, '')}/` } : {};
  await persist({ secrets: credentialSecrets(result.session.credentials), jobEnv: { ...regionEnv(config.aws.region), ...imds } });
  return { session: result.session, delivery: 'instance-metadata' };
}
