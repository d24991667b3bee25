// The collapsible job-log section that tells the job author which role it got and how.

import type { RoleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import type { JobState } from '../state/types.js';
import type { Delivered } from './prepare-credentials.js';
import { jobTimeoutEnd } from '../state/deadline.js';

const HOW: Record<Delivered['delivery'], string> = {
  endpoint: 'a per-job credentials endpoint on 127.0.0.1 (refreshed automatically)',
  env: 'AWS_* environment variables (not refreshed)',
  file: 'a per-job shared credentials file (not refreshed)',
  'web-identity-file': 'a web-identity token file (the SDKs call STS and refresh themselves)',
};


export async function printSummary(log: JobLog, state: JobState, role: RoleConfig, d: Delivered): Promise<void> {
  const s = d.session;
  const expires = s.credentials.expiration;
  const jobEnds = jobTimeoutEnd(state);
  if ((d.delivery === 'env' || d.delivery === 'file') && expires.getTime() < jobEnds) {
    log.warn(`these credentials expire at ${expires.toISOString()}, before the job's timeout, and ${d.delivery} delivery cannot renew them: for longer jobs use delivery = "endpoint"`);
  }
  const minutes = Math.round((expires.getTime() - Date.now()) / 60000);
  log.ok(`jobrole: AWS role "${role.name}" granted`);
  await log.section('credentials', `AWS credentials for role ${role.name}`, async () => {
    log.line(`  role:            ${role.arn}`);
    if (s.assumedRoleArn !== undefined) log.line(`  session:         ${s.assumedRoleArn}`);
    else log.line(`  session name:    ${s.sessionName}`);
    if (s.sourceIdentity !== undefined) log.line(`  source identity: ${s.sourceIdentity}`);
    log.line(`  expires:         ${expires.toISOString()} (in ${minutes} min${d.delivery === 'endpoint' || d.delivery === 'web-identity-file' ? ', renewed before then' : ''})`);
    log.line(`  delivered via:   ${HOW[d.delivery]}`);
    log.line(`  runs as:         ${state.user !== undefined ? `${state.user.name} (uid ${state.user.uid})` : 'the driver user (not isolated)'}`);
  });
}
