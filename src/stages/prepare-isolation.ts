// Prepare's isolation step: the slot's job user, its directories, and the IMDS firewall checked (fail closed).

import { join } from 'node:path';
import type { JobroleConfig } from '../config/types.js';
import { SystemFailure } from '../runner/exit-codes.js';
import type { JobLog } from '../runner/job-log.js';
import type { JobUser } from '../state/types.js';

export function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/** The job user for this slot, ready to run a job; undefined with isolation = "none" (said in the job log). */
export async function prepareIsolation(config: JobroleConfig, slot: number, log: JobLog): Promise<JobUser | undefined> {
  const uid = currentUid();
  if (config.job.isolation === 'none') {
    log.warn(`isolation = "none": this job runs as the driver's own user (uid ${uid}) and is NOT isolated from the host's credentials, the metadata service, or other jobs.`);
    return undefined;
  }
  if (uid !== 0) {
    throw new SystemFailure(
      `isolation = "users" needs the driver to run as root (it runs as uid ${uid}): run gitlab-runner as root, or set [job].isolation = "none" in ${config.source} to run jobs unisolated`,
    );
  }
  const [{ jobUserName, lookupJobUser }, { verifyImdsBlock }, { killUserProcesses }, { ensureOwnedDir }] = await Promise.all([
    import('../isolation/users.js'), import('../isolation/firewall.js'), import('../isolation/processes.js'), import('../isolation/dirs.js'),
  ]);
  const name = jobUserName(config.driver.job_user_prefix, slot);
  const user = await lookupJobUser(name);
  if (user === undefined) {
    throw new SystemFailure(`job user ${name} for slot ${slot} does not exist: run "jobrole host init" (after changing [driver].slots or job_user_prefix, too)`);
  }
  const firewall = await verifyImdsBlock([user.uid], { table: config.driver.firewall_table });
  if (!firewall.ok) {
    throw new SystemFailure(`the firewall rule that keeps job users off the instance metadata service is not in place (${firewall.problem}): run "jobrole host init"; no job runs without it`);
  }
  // A previous job of this slot that was never cleaned up must not share anything with this one.
  const leftover = await killUserProcesses(user.uid, { graceMs: 1000 });
  if (leftover.killed > 0) log.warn(`ended ${leftover.killed} process(es) a previous job left behind as ${name}`);
  await ensureOwnedDir(join(config.driver.builds_dir, `slot${slot}`), user.uid, user.gid, 0o700);
  await ensureOwnedDir(join(config.driver.cache_dir, `slot${slot}`), user.uid, user.gid, 0o700);
  return user;
}
