// A swap that was sent to EC2 but never seen served: how cleanup and `gc --restore` tell, and wait one out.

import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ImdsClient } from '../aws/imds.js';
import type { JobroleConfig } from '../config/types.js';
import type { JobState } from '../state/types.js';
import { describeAssociation } from './instance-profile-ec2.js';
import { RestoreFailed } from './instance-profile-restore.js';

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
  const undo = state.instanceProfile;
  if (undo === undefined) return;
  const baselineRole = state.instanceProfileBaseline?.roleName;
  const windowMs = config.instance_profile.propagation_timeout * 1000;
  const settleMs = Math.max(windowMs, 60_000);
  const pollMs = config.instance_profile.poll_interval_ms;
  const started = Date.now();
  let lateSince: number | undefined;
  progress(
    `jobrole: the swap to ${undo.jobProfile} was never confirmed; watching the metadata service for up to ${windowMs / 1000} s in case it still arrives`,
  );
  for (;;) {
    let served: string | undefined;
    try {
      served = await imds.roleName();
    } catch (err) {
      throw new RestoreFailed(
        undo.instanceId,
        'not-verified',
        `the instance metadata service did not answer while waiting for a late swap (${(err as Error).message})`,
        { cause: err },
      );
    }
    const now = Date.now();
    if (served !== baselineRole) {
      if (lateSince === undefined) {
        lateSince = now;
        progress(`jobrole: the metadata service now serves ${served ?? 'no role'} (the late swap); waiting for ${baselineRole ?? 'no role'} to come back`);
      }
      if (now - lateSince > settleMs) {
        throw new RestoreFailed(
          undo.instanceId,
          'not-verified',
          `the metadata service still serves ${served ?? 'no role'} instead of ${baselineRole ?? 'no role'} ${Math.round(settleMs / 1000)} s after a late swap`,
        );
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
