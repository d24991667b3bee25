// Prepare's isolation step: the slot's job user, its directories, and the IMDS firewall checked (fail closed).

import type { JobroleConfig } from '../config/types.js';
import { slotDirs } from '../config/slot-dirs.js';
import { SystemFailure } from '../core/exit-codes.js';
import type { JobLog } from '../core/job-log.js';
import type { JobUser } from '../state/types.js';

function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : -1;
}

/** The job user for this slot, ready to run a job; undefined with isolation = "none" (said in the job log). */
export async function prepareIsolation(config: JobroleConfig, slot: number, log: JobLog): Promise<JobUser | undefined> {
  const uid = currentUid();
  if (config.job.isolation === 'none') {
    log.warn(
      `isolation = "none": this job runs as the driver's own user (uid ${uid}) and is NOT isolated from the host's credentials, the metadata service, or other jobs.`,
    );
    return undefined;
  }
  if (uid !== 0) {
    throw new SystemFailure(
      `isolation = "users" needs the driver to run as root (it runs as uid ${uid}): run gitlab-runner as root, or set [job].isolation = "none" in ${config.source} to run jobs unisolated`,
    );
  }
  const [{ jobUserName, lookupJobUser }, { verifyImdsBlock }, { tasksOfUid, describeTasks }, { ensureOwnedDir }, { isEmptyDir }] = await Promise.all([
    import('../isolation/users.js'),
    import('../isolation/firewall.js'),
    import('../isolation/uid-tasks.js'),
    import('../isolation/dirs.js'),
    import('../isolation/slot-dirs.js'),
  ]);
  const name = jobUserName(config.driver.job_user_prefix, slot);
  const user = await lookupJobUser(name);
  if (user === undefined) {
    throw new SystemFailure(
      `job user ${name} for slot ${slot} does not exist: run "jobrole host init" (after changing [driver].slots or job_user_prefix, too)`,
    );
  }
  const firewall = await verifyImdsBlock([user.uid], { table: config.driver.firewall_table });
  if (!firewall.ok) {
    throw new SystemFailure(
      `the firewall rule that keeps job users off the instance metadata service is not in place (${firewall.problem}): run "jobrole host init"; no job runs without it`,
    );
  }
  // A slot is handed out only after its last scrub verified it: anything of a previous job here means it did not.
  const leftover = await tasksOfUid(user.uid);
  if (leftover.length > 0) {
    throw new SystemFailure(
      `slot ${slot} is not clean: processes of ${name} exist before the job started (${describeTasks(leftover)}); the slot is scrubbed again and quarantined if that fails`,
    );
  }
  for (const dir of slotDirs(config, slot)) {
    await ensureOwnedDir(dir, user.uid, user.gid, 0o700);
    if (!(await isEmptyDir(dir))) {
      throw new SystemFailure(
        `slot ${slot} is not clean: ${dir} is not empty before the job started; the slot is scrubbed again and quarantined if that fails`,
      );
    }
  }
  log.line(`jobrole: slot ${slot} (${name}) verified clean: no process of its user, empty builds and cache directories`);
  return user;
}
