// Waits until the metadata service serves the job's role after a swap, then confirms it with sts:GetCallerIdentity.

import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { ImdsClient } from '../aws/imds.js';
import type { AwsCredentials } from '../core/credential-types.js';
import { describeAwsError } from '../aws/errors.js';
import { accountOf, lastSegment, type Timing } from './instance-profile-ec2.js';

export interface PropagationDeps extends Timing {
  imds: ImdsClient;
  sts: (credentials: AwsCredentials) => Promise<STSClient>;
  progress: (line: string) => void;
}

export interface ConfirmedRole {
  credentials: AwsCredentials;
  assumedRoleArn: string;
}

/** Seconds between "still waiting" lines in the job log. */
const HEARTBEAT_MS = 10_000;

/**
 * Polls the role list until it names the job's role, reads those credentials and asks STS who they are.
 * Throws (plain Error, message safe for the job log) when `timeoutMs` passes first.
 */
export async function waitForRole(roleArn: string, timeoutMs: number, deps: PropagationDeps): Promise<ConfirmedRole> {
  const roleName = lastSegment(roleArn);
  const started = deps.now().getTime();
  const until = started + timeoutMs;
  const elapsed = () => ((deps.now().getTime() - started) / 1000).toFixed(1);
  let lastSeen: string | undefined | null = null;
  let lastLine = started;
  let lastProblem = '';
  deps.progress(`jobrole: waiting for the instance metadata service to serve role ${roleName} (up to ${timeoutMs / 1000} s)`);
  for (;;) {
    try {
      const served = await deps.imds.roleName();
      if (served !== lastSeen && lastSeen !== null) {
        deps.progress(`jobrole: metadata service now serves ${served ?? 'no role'} (${elapsed()} s)`);
      }
      lastSeen = served;
      if (served === roleName) {
        const credentials = await deps.imds.credentials(roleName);
        const sts = await deps.sts(credentials);
        const who = await sts.send(new GetCallerIdentityCommand({}));
        const arn = who.Arn ?? '';
        if (isAssumedRoleOf(arn, roleArn)) {
          deps.progress(`jobrole: confirmed ${arn} after ${elapsed()} s`);
          return { credentials, assumedRoleArn: arn };
        }
        lastProblem = `STS says the metadata credentials belong to ${arn || 'nobody'}`;
      } else {
        lastProblem = `the metadata service serves ${served ?? 'no role'}`;
      }
    } catch (err) {
      // New credentials can take a moment to be accepted everywhere; keep trying until the deadline.
      lastProblem = describeAwsError(err);
    }
    const now = deps.now().getTime();
    if (now >= until) {
      throw new Error(`the metadata service did not serve role ${roleName} within ${timeoutMs / 1000} s (${lastProblem})`);
    }
    if (now - lastLine >= HEARTBEAT_MS) {
      deps.progress(`jobrole: still waiting for role ${roleName} (${elapsed()} s; ${lastProblem})`);
      lastLine = now;
    }
    await deps.sleep(Math.min(deps.pollIntervalMs, Math.max(1, until - now)));
  }
}

/** arn:aws:sts::ACCT:assumed-role/NAME/SESSION for the role arn:aws:iam::ACCT:role/[path/]NAME. */
function isAssumedRoleOf(assumedArn: string, roleArn: string): boolean {
  const parts = assumedArn.split(':');
  const resource = parts.slice(5).join(':').split('/');
  return (
    parts[2] === 'sts' &&
    accountOf(assumedArn) === accountOf(roleArn) &&
    resource[0] === 'assumed-role' &&
    resource[1] === lastSegment(roleArn) &&
    resource.length >= 3
  );
}
