// The collapsible job-log section that tells the job author which role it got and how.

import type { RoleConfig } from '../config/types.js';
import type { IssuedSession } from '../core/credential-types.js';
import type { JobLog } from '../core/job-log.js';
import type { DeliveryMethod } from '../delivery/delivery.js';
import type { JobState } from '../state/types.js';
import { jobTimeoutEnd } from '../state/deadline.js';

export async function printSummary(log: JobLog, state: JobState, role: RoleConfig, s: IssuedSession, delivery: DeliveryMethod, now: Date): Promise<void> {
  const expires = s.credentials.expiration;
  const jobEnds = jobTimeoutEnd(state);
  if (!delivery.renews && expires.getTime() < jobEnds) {
    log.warn(
      `these credentials expire at ${expires.toISOString()}, before the job's timeout, and ${delivery.name} delivery cannot renew them: for longer jobs use delivery = "endpoint"`,
    );
  }
  const minutes = Math.round((expires.getTime() - now.getTime()) / 60000);
  log.ok(`jobrole: AWS role "${role.name}" granted`);
  await log.section('credentials', `AWS credentials for role ${role.name}`, async () => {
    log.line(`  role:            ${role.arn}`);
    if (s.assumedRoleArn !== undefined) log.line(`  session:         ${s.assumedRoleArn}`);
    else log.line(`  session name:    ${s.sessionName}`);
    if (s.sourceIdentity !== undefined) log.line(`  source identity: ${s.sourceIdentity}`);
    log.line(`  expires:         ${expires.toISOString()} (in ${minutes} min${delivery.renews ? ', renewed before then' : ''})`);
    log.line(`  delivered via:   ${delivery.describe}`);
    log.line(`  runs as:         ${state.user !== undefined ? `${state.user.name} (uid ${state.user.uid})` : 'the driver user (not isolated)'}`);
  });
}
