// Puts an instance's baseline profile back after a job (or a crash) and verifies it; RestoreFailed marks the host unhealthy.

import {
  AssociateIamInstanceProfileCommand,
  DisassociateIamInstanceProfileCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { ImdsClient } from '../aws/imds.js';
import type { AwsCredentials } from '../core/credential-types.js';
import type { InstanceProfileUndo } from '../state/types.js';
import { SystemFailure } from '../core/exit-codes.js';
import { RESTORE_COMMAND } from '../state/host-health.js';
import { fromBaseline, type BaselineCredentials } from './instance-profile-types.js';
import { describeAwsError, errorCode } from '../aws/errors.js';
import { credentialProblem, describeAssociation, type Timing } from './instance-profile-ec2.js';

export { RESTORE_COMMAND };

export type RestoreFailureReason = 'credentials-expired' | 'denied' | 'not-verified' | 'error';

/** The host still carries a job's profile (or its state is unknown): the caller marks the host unhealthy. */
export class RestoreFailed extends SystemFailure {
  readonly reason: RestoreFailureReason;
  readonly instanceId: string;
  constructor(instanceId: string, reason: RestoreFailureReason, detail: string, options: { cause?: unknown } = {}) {
    super(
      `could not restore the instance profile of ${instanceId}: ${detail}. The host may still carry a job's role; ` +
        `it refuses jobs until an operator runs \`${RESTORE_COMMAND}\` with working driver credentials`,
      options,
    );
    this.reason = reason;
    this.instanceId = instanceId;
  }
}

export interface RestoreDeps {
  /** Builds an EC2 client signing with these credentials; undefined = the driver's default chain. */
  ec2: (credentials: AwsCredentials | undefined) => Promise<EC2Client>;
  /** When given, restore also waits until the metadata service serves the baseline role again. */
  imds?: ImdsClient;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** How long to wait for associations to settle (and the metadata service to follow). Default 120 s. */
  timeoutMs?: number;
  pollIntervalMs?: number;
  progress?: (line: string) => void;
}

/** Restore signing with the baseline credentials captured at prepare (cleanup, gc after a crash). */
export async function restoreInstanceProfile(undo: InstanceProfileUndo, deps: RestoreDeps & { baseline: BaselineCredentials }): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const creds = fromBaseline(deps.baseline);
  if (creds.expiration.getTime() <= now().getTime()) {
    throw new RestoreFailed(undo.instanceId, 'credentials-expired', `the driver credentials captured before the swap expired at ${deps.baseline.expiration}`);
  }
  await restoreWith(undo, deps.baseline.roleName, await deps.ec2(creds), deps);
}

/**
 * Operator restore (`jobrole gc --restore`): signs with fresh credentials (undefined = the default chain;
 * note that while the job's profile is attached the metadata service hands out the JOB's role, so an
 * operator supplies credentials from the environment or a profile).
 */
export async function restoreInstanceProfileAsOperator(
  undo: InstanceProfileUndo,
  deps: RestoreDeps & { credentials?: AwsCredentials; baselineRoleName?: string },
): Promise<void> {
  await restoreWith(undo, deps.baselineRoleName, await deps.ec2(deps.credentials), deps);
}

async function restoreWith(undo: InstanceProfileUndo, baselineRoleName: string | undefined, ec2: EC2Client, deps: RestoreDeps): Promise<void> {
  const t: Timing = {
    now: deps.now ?? (() => new Date()),
    sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    pollIntervalMs: deps.pollIntervalMs ?? 1000,
  };
  const until = t.now().getTime() + (deps.timeoutMs ?? 120_000);
  const fail = (reason: RestoreFailureReason, detail: string, cause?: unknown): never => {
    throw new RestoreFailed(undo.instanceId, reason, detail, cause === undefined ? {} : { cause });
  };
  try {
    await putBaselineBack(undo, ec2, until, t, deps.progress);
  } catch (err) {
    if (err instanceof RestoreFailed) throw err;
    const problem = credentialProblem(err);
    if (problem === 'expired') fail('credentials-expired', `AWS no longer accepts the driver credentials (${describeAwsError(err)})`, err);
    if (problem === 'denied') fail('denied', `the driver credentials lack a permission (${describeAwsError(err)})`, err);
    fail('error', describeAwsError(err), err);
  }
  if (deps.imds !== undefined) await waitForBaselineRole(undo, deps.imds, baselineRoleName, until, t, fail);
}

/** Loops describe → act until EC2 shows the baseline profile associated (or none when there was none). */
async function putBaselineBack(
  undo: InstanceProfileUndo,
  ec2: EC2Client,
  until: number,
  t: Timing,
  progress: ((line: string) => void) | undefined,
): Promise<void> {
  const baseline = undo.baselineProfileArn;
  for (;;) {
    if (t.now().getTime() > until) {
      throw new RestoreFailed(undo.instanceId, 'not-verified', 'the association did not settle on the baseline profile in time');
    }
    const current = await describeAssociation(ec2, undo.instanceId);
    try {
      if (current === undefined) {
        if (baseline === undefined) return; // verified: the instance had no profile and has none
        progress?.(`jobrole: associating the baseline profile ${baseline} with ${undo.instanceId}`);
        await ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: undo.instanceId, IamInstanceProfile: { Arn: baseline } }));
      } else if (current.state !== 'associated') {
        // associating / disassociating: a change is under way; look again once it settles.
      } else if (baseline !== undefined && current.profileArn === baseline) {
        return; // verified: the baseline profile is associated
      } else if (baseline === undefined) {
        progress?.(`jobrole: removing profile ${current.profileArn ?? '?'} from ${undo.instanceId}`);
        await ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: current.associationId }));
      } else {
        progress?.(`jobrole: replacing profile ${current.profileArn ?? '?'} of ${undo.instanceId} with the baseline ${baseline}`);
        await ec2.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: current.associationId, IamInstanceProfile: { Arn: baseline } }));
      }
    } catch (err) {
      // Raced with another change (or our own earlier attempt): describe again and act on what is there.
      const code = errorCode(err);
      if (code !== 'InvalidAssociationID.NotFound' && code !== 'IncorrectState') throw err;
    }
    await t.sleep(t.pollIntervalMs);
  }
}

async function waitForBaselineRole(
  undo: InstanceProfileUndo,
  imds: ImdsClient,
  roleName: string | undefined,
  until: number,
  t: Timing,
  fail: (reason: RestoreFailureReason, detail: string, cause?: unknown) => never,
): Promise<void> {
  for (;;) {
    let served: string | undefined;
    try {
      served = await imds.roleName();
    } catch (err) {
      fail('not-verified', 'the instance metadata service did not answer after the restore', err);
    }
    if (served === roleName) return;
    if (t.now().getTime() > until) {
      fail('not-verified', `EC2 shows the baseline profile but the metadata service still serves ${served ?? 'no role'} instead of ${roleName ?? 'no role'}`);
    }
    await t.sleep(t.pollIntervalMs);
  }
}
