// Prepare's sandbox step: the job's namespaces, its private scratch dirs, its own slot dirs, the rest read-only.

import { join } from 'node:path';
import type { JobroleConfig } from '../config/types.js';
import { slotDirs } from '../config/slot-dirs.js';
import { SystemFailure } from '../core/exit-codes.js';
import type { JobLog } from '../core/job-log.js';
import { jobDir, type StateLayout } from '../state/job-store.js';
import { jobFilesFor } from '../delivery/job-files.js';
import { ensurePrivateDir } from '../core/secure-fs.js';
import type { JobState, JobUser, SandboxRecord } from '../state/types.js';

/**
 * Starts the job's sandbox and records it in the state as soon as its init runs. The job's credential-file
 * directory is made here (root-owned, readable by the job's group only) so it can be mounted inside.
 */
export async function prepareSandbox(
  config: JobroleConfig,
  layout: StateLayout,
  state: JobState,
  user: JobUser,
  persist: (patch: Partial<JobState>) => Promise<void>,
  log: JobLog,
): Promise<SandboxRecord> {
  const [{ startSandbox }, { stateDirTag }] = await Promise.all([import('../isolation/sandbox.js'), import('../isolation/cgroup.js')]);
  const d = config.driver;
  const { dir: filesDir } = await jobFilesFor(layout, { ...state, user }, persist);
  const stage = join(jobDir(layout, state.key), 'sandbox');
  await ensurePrivateDir(stage, 0o700);
  let record: SandboxRecord;
  try {
    record = await startSandbox({
      mounts: {
        stage,
        tmpSize: d.job_tmp_size,
        user,
        keep: [...slotDirs(config, state.slot).map((path) => ({ path })), { path: filesDir, readOnly: true }],
        hide: [d.state_dir, d.builds_dir, d.cache_dir, d.home_dir],
      },
      cgroupName: `${stateDirTag(d.state_dir)}.${state.key}`,
      limits: { pidsMax: d.job_pids_max, memoryMax: d.job_memory_max },
      onStarted: (rec) => persist({ sandbox: rec }),
    });
  } catch (err) {
    throw new SystemFailure(`cannot set up the sandbox of job ${state.job.id} on slot ${state.slot}: ${(err as Error).message}`, { cause: err });
  }
  const limits = [
    `private /tmp, /var/tmp, /dev/shm, /run/lock and home (${d.job_tmp_size} in all)`,
    ...(d.job_pids_max > 0 ? [`at most ${d.job_pids_max} tasks`] : []),
    ...(d.job_memory_max !== '' ? [`memory ${d.job_memory_max}`] : []),
  ];
  log.line(
    `jobrole: the job runs as ${user.name} in its own sandbox (PID, mount, IPC and UTS namespaces; ${limits.join('; ')}; the rest of the host read-only)`,
  );
  return record;
}
