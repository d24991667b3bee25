// The instance-profile strategy: hold the host, swap its profile to the job's, serve that role; undo = restore the baseline.

import type { AwsCredentials } from '../core/credential-types.js';
import type { UndoStep } from '../core/undo-step.js';
import type { JobState } from '../state/types.js';
import { readJobState } from '../state/job-store.js';
import { jobLiveness } from '../state/liveness.js';
import { jobTimeoutEnd } from '../state/deadline.js';
import { imdsEndpoint } from '../aws/clients.js';
import type { CredentialStrategy, ObtainRequest, Obtained, UndoRequest } from './strategy.js';

const jobrolePrefixed = (line: string) => (line.startsWith('jobrole: ') ? line : `jobrole: ${line}`);

async function obtain(req: ObtainRequest): Promise<Obtained> {
  const { config, role, log, persist, state, layout, aws } = req;
  const [{ acquireHostLock }, { prepareInstanceProfile }, { lastSegment }, { instanceProfileRefresh }] = await Promise.all([
    import('../state/host-lock.js'),
    import('./instance-profile.js'),
    import('./instance-profile-ec2.js'),
    import('./instance-profile-source.js'),
  ]);
  await acquireHostLock(config.driver.state_dir, state().key, {
    isJobAlive: async (key) => {
      const s = await readJobState(layout, key).catch(() => undefined);
      return s !== undefined && (await jobLiveness(s)).live;
    },
  });
  const { session } = await prepareInstanceProfile(role, {
    imds: aws.imds(config.aws),
    ec2: (credentials) => aws.ec2(config.aws, { credentials }),
    sts: (credentials) => aws.sts(config.aws, { credentials }),
    settings: config.instance_profile,
    persistUndo: (undo, baseline) => persist({ instanceProfile: undo, instanceProfileBaseline: baseline }),
    progress: (line) => log.line(jobrolePrefixed(line)),
    deadline: new Date(jobTimeoutEnd(state())),
  });
  // The job never talks to IMDS (its user stays fenced off it): the endpoint, run by root, reads the role there
  // by name and serves it, picking up each rotation.
  return {
    session,
    source: {
      strategy: 'instance-profile',
      imdsEndpoint: imdsEndpoint(config.aws),
      imdsRoleName: lastSegment(role.arn),
      roleArn: role.arn,
      sessionName: session.sessionName,
      ...(session.assumedRoleArn !== undefined ? { assumedRoleArn: session.assumedRoleArn } : {}),
    },
    refresh: instanceProfileRefresh(config.instance_profile, config.job.refresh_before),
    secrets: [],
    delivery: 'endpoint',
  };
}

/**
 * Check the IMDS fence, restore the baseline profile, release the host lock. The host's role must never come
 * back while a job user can reach IMDS: jobs of this version never open the fence, but a host may hold state
 * from an older one that did (or a firewall reload may have flushed it). So the fence is verified (re-installed
 * if needed) first, and if that fails the host is marked unhealthy instead of restored.
 */
function undo(state: JobState, req: UndoRequest): UndoStep[] {
  const { config, log, audit, aws, fenceForRestore } = req;
  const steps: UndoStep[] = [];
  const record = state.instanceProfile;
  const baseline = state.instanceProfileBaseline;
  let fenceProblem: string | undefined;
  if (record !== undefined && (state.isolation === 'users' || config.job.isolation === 'users')) {
    steps.push({
      name: 'check that job users are fenced off the metadata service',
      run: async () => {
        const { markUnhealthy } = await import('../state/host-health.js');
        try {
          if ((await fenceForRestore(state)) === 're-installed') log.warn('the IMDS block for job users was missing; it was re-installed before the restore');
        } catch (err) {
          fenceProblem = (err as Error).message;
          await markUnhealthy(config.driver.state_dir, `cleanup of job ${state.job.id}: ${fenceProblem}; the instance profile was not restored`);
          throw err;
        }
      },
    });
  }
  if (record !== undefined && baseline !== undefined) {
    steps.push({
      name: `restore the instance profile of ${record.instanceId}`,
      run: async () => {
        if (fenceProblem !== undefined) throw new Error(`not restored, host marked unhealthy: ${fenceProblem}`);
        const [{ restoreInstanceProfile, RestoreFailed, fromBaseline }, { unconfirmedSwap, waitOutPendingSwap }, { markUnhealthy }] = await Promise.all([
          import('./instance-profile.js'),
          import('./instance-profile-pending.js'),
          import('../state/host-health.js'),
        ]);
        const progress = (line: string) => log.line(jobrolePrefixed(line));
        const ec2 = (credentials?: AwsCredentials) => aws.ec2(config.aws, credentials !== undefined ? { credentials } : {});
        const imds = aws.imds(config.aws);
        const restoreRecord = {
          event: 'restore' as const,
          job_id: state.job.id,
          job_key: state.key,
          project: state.job.projectPath,
          instance_id: record.instanceId,
          detail: `${record.jobProfile} → ${record.baselineProfileArn ?? 'no profile'}`,
        };
        try {
          const pending = await unconfirmedSwap(state, () => ec2(fromBaseline(baseline)), imds);
          await restoreInstanceProfile(record, {
            baseline,
            ec2,
            imds,
            timeoutMs: config.instance_profile.propagation_timeout * 1000,
            pollIntervalMs: config.instance_profile.poll_interval_ms,
            progress,
          });
          if (pending) await waitOutPendingSwap(config, state, imds, progress);
          await audit.write({ ...restoreRecord, outcome: 'ok' });
        } catch (err) {
          // Whatever failed, the instance may carry the job's profile: no job runs here until an operator restores.
          const reason =
            err instanceof RestoreFailed ? err.message : `could not restore the instance profile of ${record.instanceId}: ${(err as Error).message}`;
          await markUnhealthy(config.driver.state_dir, reason);
          await audit.write({ ...restoreRecord, outcome: 'failed, host marked unhealthy', detail: (err as Error).message });
          throw err;
        }
      },
    });
  }
  if (record !== undefined && baseline === undefined) {
    // Never written by prepare (it records both at once), but a state that lacks it must not pass as undone.
    steps.push({
      name: `restore the instance profile of ${record.instanceId}`,
      run: async () => {
        const { markUnhealthy } = await import('../state/host-health.js');
        const reason = `job ${state.job.id} swapped the instance profile of ${record.instanceId} and its state holds no driver credentials to restore it with`;
        await markUnhealthy(config.driver.state_dir, reason);
        throw new Error(`not restored, host marked unhealthy: ${reason}`);
      },
    });
  }
  // Always: a prepare killed after taking the lock and before recording the swap leaves only the lock.
  steps.push({
    name: 'release the host lock',
    run: async () => {
      const { releaseHostLock } = await import('../state/host-lock.js');
      await releaseHostLock(config.driver.state_dir, state.key);
    },
  });
  return steps;
}

export const instanceProfileStrategy: CredentialStrategy = { name: 'instance-profile', obtain, undo };
