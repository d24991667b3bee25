// The instance-profile strategy: swap this instance's profile to the job's, wait until IMDS serves it, undo on failure.

import { AssociateIamInstanceProfileCommand, ReplaceIamInstanceProfileAssociationCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { STSClient } from '@aws-sdk/client-sts';
import type { ImdsClient } from '../aws/imds.js';
import type { InstanceProfileSection, RoleConfig } from '../config/types.js';
import type { InstanceProfileUndo } from '../state/types.js';
import type { AwsCredentials, IssuedSession } from '../core/credential-types.js';
import { SystemFailure } from '../core/exit-codes.js';
import { describeAwsError } from '../aws/errors.js';
import { fromBaseline, toBaseline, type BaselineCredentials } from './instance-profile-types.js';
import { lastSegment, profileMatches, profileSpec, settledAssociation, type Association, type Timing } from './instance-profile-ec2.js';
import { waitForRole } from './instance-profile-propagation.js';
import { RESTORE_COMMAND, RestoreFailed, restoreInstanceProfile } from './instance-profile-restore.js';

export type { BaselineCredentials } from './instance-profile-types.js';
export { parseBaseline, fromBaseline, toBaseline } from './instance-profile-types.js';
export { RestoreFailed, restoreInstanceProfile, restoreInstanceProfileAsOperator } from './instance-profile-restore.js';

export interface InstanceProfileDeps {
  imds: ImdsClient;
  /** EC2 client signing with the given credentials (the baseline captured before the swap). */
  ec2: (credentials: AwsCredentials) => Promise<EC2Client>;
  /** STS client signing with the given credentials (the job's, read from the metadata service). */
  sts: (credentials: AwsCredentials) => Promise<STSClient>;
  settings: Pick<InstanceProfileSection, 'propagation_timeout' | 'poll_interval_ms'>;
  /** Persists the undo and baseline records (0600 state); awaited before any EC2 change and again once the job's association id is known. */
  persistUndo: (undo: InstanceProfileUndo, baseline: BaselineCredentials) => Promise<void>;
  /** One line to the job log. */
  progress: (line: string) => void;
  /** Driver credentials when the instance has no profile yet (the metadata service serves no role). */
  fallbackCredentials?: () => Promise<AwsCredentials>;
  /** The job's deadline: the swap is refused when the baseline credentials expire before it, since restore would be impossible. */
  deadline?: Date;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export interface InstanceProfileResult {
  /** The confirmed metadata credentials: the first ones the job's endpoint serves (the job never reads IMDS). */
  session: IssuedSession;
  undo: InstanceProfileUndo;
  baseline: BaselineCredentials;
}

export async function prepareInstanceProfile(role: RoleConfig, deps: InstanceProfileDeps): Promise<InstanceProfileResult> {
  const t: Timing = {
    now: deps.now ?? (() => new Date()),
    sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    pollIntervalMs: deps.settings.poll_interval_ms,
  };
  const timeoutMs = deps.settings.propagation_timeout * 1000;
  const jobRoleName = lastSegment(role.arn);
  if (role.instance_profile === '') {
    throw new SystemFailure(`role ${role.name} uses strategy instance-profile but sets no instance_profile`);
  }
  const sys = (what: string, err: unknown) =>
    new SystemFailure(`instance-profile strategy for role ${role.name}: ${what}: ${describeAwsError(err)}`, { cause: err });

  // 1. Who we are and what we hold now: the baseline credentials sign every EC2 call, including the restore.
  let instanceId: string;
  let baseline: BaselineCredentials;
  try {
    instanceId = await deps.imds.instanceId();
    const servedRole = await deps.imds.roleName();
    if (servedRole === jobRoleName) {
      throw new Error(`the metadata service already serves the job's role ${jobRoleName}; a previous swap may not be undone (run \`${RESTORE_COMMAND}\`)`);
    }
    if (servedRole !== undefined) {
      baseline = toBaseline(servedRole, await deps.imds.credentials(servedRole));
    } else if (deps.fallbackCredentials !== undefined) {
      baseline = toBaseline(undefined, await deps.fallbackCredentials());
    } else {
      throw new Error('the instance has no profile and no other driver credentials were given');
    }
  } catch (err) {
    throw sys('reading the instance metadata', err);
  }
  if (deps.deadline !== undefined && new Date(baseline.expiration).getTime() <= deps.deadline.getTime()) {
    throw new SystemFailure(
      `instance-profile strategy for role ${role.name}: the driver's credentials expire at ${baseline.expiration}, before the job's ` +
        `deadline ${deps.deadline.toISOString()}; the profile could not be restored after that, so the swap is refused (shorten the job timeout)`,
    );
  }

  let ec2: EC2Client;
  let current: Association | undefined;
  try {
    ec2 = await deps.ec2(fromBaseline(baseline));
    current = await settledAssociation(ec2, instanceId, new Date(t.now().getTime() + timeoutMs), t);
  } catch (err) {
    throw sys(`describing the profile association of ${instanceId}`, err);
  }
  if (current !== undefined && profileMatches(current.profileArn, role.instance_profile)) {
    throw new SystemFailure(
      `instance-profile strategy for role ${role.name}: ${instanceId} already carries the job's profile ${role.instance_profile}; ` +
        `a previous job may not have been restored, or the job's profile is the host's own (run \`${RESTORE_COMMAND}\`, check instance_profile)`,
    );
  }

  // 2. The undo record is on disk before anything changes.
  const undo: InstanceProfileUndo = {
    instanceId,
    baselineProfileArn: current?.profileArn,
    baselineAssociationId: current?.associationId,
    jobAssociationId: undefined,
    jobProfile: role.instance_profile,
  };
  try {
    await deps.persistUndo({ ...undo }, baseline);
  } catch (err) {
    throw sys('saving the undo record (nothing was changed)', err);
  }

  // 3. Swap, 4. wait for IMDS; any failure from here on restores first.
  try {
    deps.progress(
      `jobrole: attaching instance profile ${role.instance_profile} to ${instanceId}` +
        (current === undefined ? ' (it had none)' : ` (replacing ${current.profileArn ?? current.associationId})`),
    );
    const spec = profileSpec(role.instance_profile);
    const out =
      current === undefined
        ? await ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: spec }))
        : await ec2.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: current.associationId, IamInstanceProfile: spec }));
    undo.jobAssociationId = out.IamInstanceProfileAssociation?.AssociationId;
    await deps.persistUndo({ ...undo }, baseline);
    const confirmed = await waitForRole(role.arn, timeoutMs, { ...t, imds: deps.imds, sts: deps.sts, progress: deps.progress });
    const session: IssuedSession = {
      credentials: confirmed.credentials,
      roleArn: role.arn,
      assumedRoleArn: confirmed.assumedRoleArn,
      sessionName: lastSegment(confirmed.assumedRoleArn),
    };
    return { session, undo: { ...undo }, baseline };
  } catch (err) {
    deps.progress(`jobrole: swap failed (${describeAwsError(err)}); restoring the instance's profile`);
    try {
      await restoreInstanceProfile(undo, {
        baseline,
        ec2: async () => ec2, // the client already signing with the baseline
        imds: deps.imds,
        now: t.now,
        sleep: t.sleep,
        timeoutMs: Math.max(timeoutMs, 60_000),
        pollIntervalMs: t.pollIntervalMs,
        progress: deps.progress,
      });
    } catch (restoreErr) {
      if (restoreErr instanceof RestoreFailed) throw restoreErr;
      throw new RestoreFailed(instanceId, 'error', describeAwsError(restoreErr), { cause: restoreErr });
    }
    throw sys(`attaching profile ${role.instance_profile} to ${instanceId} (the baseline profile was restored)`, err);
  }
}
