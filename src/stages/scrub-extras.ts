// Scrub steps beyond the common ones: check the IMDS fence, restore a swapped instance profile, free the host lock.

import type { EC2Client } from '@aws-sdk/client-ec2';
import type { JobroleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import type { ScrubStep } from './scrub-job.js';
import type { JobState } from '../state/types.js';
import type { ImdsClient } from '../aws/imds.js';
import type { AwsCredentials } from '../core/credential-types.js';
import { ec2Client, imdsEndpoint } from '../aws/clients.js';
import { auditLog } from '../audit/audit-log.js';
import { stateLayout } from '../state/job-store.js';
import { slotScrubSteps } from './scrub-slot.js';

export async function extraScrubSteps(config: JobroleConfig, state: JobState, log: JobLog): Promise<ScrubStep[]> {
  const steps: ScrubStep[] = [];
  const sandbox = state.sandbox;
  if (sandbox !== undefined) {
    steps.push({
      // The kernel ends every process in the job's PID namespace when its init dies: nothing outlives this.
      name: 'end the job\'s sandbox',
      run: async () => {
        const { stopSandbox } = await import('../isolation/sandbox.js');
        const outcome = await stopSandbox(sandbox);
        log.line(`jobrole: sandbox of job ${state.job.id} (init ${sandbox.initPid}) ${outcome === 'stopped' ? 'ended' : 'was no longer running'}`);
      },
    });
  }
  const undo = state.instanceProfile;
  const baseline = state.instanceProfileBaseline;
  // The host's role must never come back while a job user can reach IMDS. Jobs of this version never open the
  // fence, but a host may hold state from an older one that did (or a firewall reload may have flushed it):
  // verify, re-install if needed, and if that fails mark the host unhealthy instead of restoring.
  let fenceProblem: string | undefined;
  if (undo !== undefined && state.isolation === 'users') {
    steps.push({
      name: 'check that job users are fenced off the metadata service',
      run: async () => {
        const [{ ensureImdsFenced }, { markUnhealthy }] = await Promise.all([import('../isolation/imds-fence.js'), import('../state/host-health.js')]);
        try {
          if ((await ensureImdsFenced(config)) === 're-installed') log.warn('the IMDS block for job users was missing; it was re-installed before the restore');
        } catch (err) {
          fenceProblem = (err as Error).message;
          await markUnhealthy(config.driver.state_dir, `cleanup of job ${state.job.id}: ${fenceProblem}; the instance profile was not restored`);
          throw err;
        }
      },
    });
  }
  if (undo !== undefined && baseline !== undefined) {
    steps.push({
      name: `restore the instance profile of ${undo.instanceId}`,
      run: async () => {
        if (fenceProblem !== undefined) throw new Error(`not restored, host marked unhealthy: ${fenceProblem}`);
        const [{ restoreInstanceProfile, RestoreFailed, fromBaseline }, { createImdsClient }, { markUnhealthy }] = await Promise.all([
          import('../credentials/instance-profile.js'), import('../aws/imds.js'), import('../state/host-health.js'),
        ]);
        const progress = (line: string) => log.line(line.startsWith('jobrole: ') ? line : `jobrole: ${line}`);
        const ec2 = (credentials?: AwsCredentials) => ec2Client(config.aws, credentials !== undefined ? { credentials } : {});
        const imds = createImdsClient({ endpoint: imdsEndpoint(config.aws) });
        const audit = auditLog(config.driver.audit_log, (e) => log.warn(`cannot write the audit log ${config.driver.audit_log}: ${e.message}`));
        const restoreRecord = {
          event: 'restore' as const, job_id: state.job.id, job_key: state.key, project: state.job.projectPath,
          instance_id: undo.instanceId, detail: `${undo.jobProfile} → ${undo.baselineProfileArn ?? 'no profile'}`,
        };
        try {
          const pending = await unconfirmedSwap(state, () => ec2(fromBaseline(baseline)), imds);
          await restoreInstanceProfile(undo, {
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
          const reason = err instanceof RestoreFailed ? err.message : `could not restore the instance profile of ${undo.instanceId}: ${(err as Error).message}`;
          await markUnhealthy(config.driver.state_dir, reason);
          await audit.write({ ...restoreRecord, outcome: 'failed, host marked unhealthy', detail: (err as Error).message });
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
  if (state.isolation === 'users' && state.user !== undefined) {
    steps.push(...slotScrubSteps(config, stateLayout(config.driver.state_dir), state.slot, state.user, state.key, log));
  }
  return steps;
}

/**
 * Whether the job's profile was sent to EC2 but the metadata service was never seen serving it (prepare timed
 * out, failed or was killed mid-wait). Then IMDS may still be about to serve the job's role, and a restore that
 * finds "IMDS serves the baseline role" can be looking at the state from before the swap.
 */
export async function unconfirmedSwap(state: JobState, ec2: () => Promise<EC2Client>, imds: ImdsClient): Promise<boolean> {
  const undo = state.instanceProfile;
  if (undo === undefined) return false;
  // Prepare saves the job's secrets (and then its role) only after IMDS served and STS confirmed the job's role.
  if (state.role !== undefined || state.secrets.length > 0) return false;
  try {
    // IMDS serves another role than the baseline now: the swap has arrived, and the restore's own check that the
    // baseline role is back is enough (metadata changes arrive in order).
    if ((await imds.roleName()) !== state.instanceProfileBaseline?.roleName) return false;
  } catch {
    // cannot tell: keep going
  }
  if (undo.jobAssociationId !== undefined) return true;
  try {
    // Killed between the undo record and the swap's answer: a replace or associate would have changed the association id.
    const { describeAssociation } = await import('../credentials/instance-profile-ec2.js');
    const current = await describeAssociation(await ec2(), undo.instanceId);
    return current?.associationId !== undo.baselineAssociationId;
  } catch {
    return true;
  }
}

/**
 * After restoring an unconfirmed swap: watch IMDS for one propagation_timeout. If the job's role shows up (the
 * swap arriving late), wait until the baseline role is back after it; metadata changes arrive in order, so the
 * host is settled then. Throws RestoreFailed when it never comes back.
 */
export async function waitOutPendingSwap(config: JobroleConfig, state: JobState, imds: ImdsClient, progress: (line: string) => void): Promise<void> {
  const { RestoreFailed } = await import('../credentials/instance-profile.js');
  const undo = state.instanceProfile;
  if (undo === undefined) return;
  const baselineRole = state.instanceProfileBaseline?.roleName;
  const windowMs = config.instance_profile.propagation_timeout * 1000;
  const settleMs = Math.max(windowMs, 60_000);
  const pollMs = config.instance_profile.poll_interval_ms;
  const started = Date.now();
  let lateSince: number | undefined;
  progress(`jobrole: the swap to ${undo.jobProfile} was never confirmed; watching the metadata service for up to ${windowMs / 1000} s in case it still arrives`);
  for (;;) {
    let served: string | undefined;
    try {
      served = await imds.roleName();
    } catch (err) {
      throw new RestoreFailed(undo.instanceId, 'not-verified', `the instance metadata service did not answer while waiting for a late swap (${(err as Error).message})`, { cause: err });
    }
    const now = Date.now();
    if (served !== baselineRole) {
      if (lateSince === undefined) {
        lateSince = now;
        progress(`jobrole: the metadata service now serves ${served ?? 'no role'} (the late swap); waiting for ${baselineRole ?? 'no role'} to come back`);
      }
      if (now - lateSince > settleMs) {
        throw new RestoreFailed(undo.instanceId, 'not-verified', `the metadata service still serves ${served ?? 'no role'} instead of ${baselineRole ?? 'no role'} ${Math.round(settleMs / 1000)} s after a late swap`);
      }
    } else if (lateSince !== undefined) {
      progress(`jobrole: the metadata service serves ${baselineRole ?? 'no role'} again (${((now - started) / 1000).toFixed(1)} s)`);
      return;
    } else if (now - started >= windowMs) {
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
