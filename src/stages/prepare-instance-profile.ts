// Prepare for strategy instance-profile: hold the host, swap the profile, serve the role through the job's endpoint.

import type { JobroleConfig, RoleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import type { JobState } from '../state/types.js';
import { ec2Client, imdsEndpoint, stsClient } from '../aws/clients.js';
import { readJobState, stateLayout } from '../state/job-store.js';
import { jobLiveness } from '../state/liveness.js';
import { credentialSecrets } from '../delivery/env.js';
import type { Delivered, Persist } from './prepare-credentials.js';
import { jobTimeoutEnd } from '../state/deadline.js';

export async function prepareInstanceProfileJob(
  deps: { config: JobroleConfig; log: JobLog; persist: Persist; current: () => JobState; cliPath: string },
  role: RoleConfig,
): Promise<Delivered> {
  const { config, log, persist, current } = deps;
  const layout = stateLayout(config.driver.state_dir);
  const [{ acquireHostLock }, { createImdsClient }, { prepareInstanceProfile }, { lastSegment }, { instanceProfileRefresh }, { startJobEndpoint }] =
    await Promise.all([
      import('../state/host-lock.js'), import('../aws/imds.js'), import('../credentials/instance-profile.js'),
      import('../credentials/instance-profile-ec2.js'), import('../credentials/instance-profile-source.js'), import('./prepare-endpoint.js'),
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
  // The job never talks to IMDS (its user stays fenced off it): the endpoint, run by root, reads the role there
  // and serves it, picking up each rotation and handing the new secrets to the redactor.
  const { session } = result;
  await startJobEndpoint({ config, layout, persist, cliPath: deps.cliPath }, current(), {
    session,
    spec: {
      strategy: 'instance-profile',
      imdsEndpoint: imdsEndpoint(config.aws),
      imdsRoleName: lastSegment(role.arn),
      roleArn: role.arn,
      sessionName: session.sessionName,
      ...(session.assumedRoleArn !== undefined ? { assumedRoleArn: session.assumedRoleArn } : {}),
    },
    refresh: instanceProfileRefresh(config.instance_profile, config.job.refresh_before),
    secrets: credentialSecrets(session.credentials),
    roleName: role.name,
  });
  return { session, delivery: 'endpoint' };
}
