// Scrubs one job from whatever state exists: every step runs even if another fails; state is deleted last.

import { join } from 'node:path';
import type { JobroleConfig } from '../config/types.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { JobLog } from '../runner/job-log.js';
import { deleteJobState, jobFilesDir, type StateLayout, writeJobState } from './job-store.js';
import { releaseSlot } from './slots.js';
import { scrubPath } from './secure-fs.js';
import type { JobState } from './types.js';

export interface ScrubStep {
  name: string;
  run: () => Promise<void>;
}

export interface ScrubResult {
  failures: string[];
  steps: string[];
}

/** The steps that apply to this state, in order. Later issues' parts add theirs through extraSteps. */
export function scrubSteps(config: JobroleConfig, layout: StateLayout, state: JobState, extra: ScrubStep[]): ScrubStep[] {
  const steps: ScrubStep[] = [];
  if (state.broker !== undefined) {
    const broker = state.broker;
    steps.push({
      name: 'stop the credentials endpoint',
      run: async () => {
        const { stopBroker } = await import('../broker/process-identity.js');
        await stopBroker({ pid: broker.pid, startTime: broker.startTime }, { graceMs: 3000 });
        await scrubPath(broker.feedSocket);
      },
    });
  }
  const user = state.user;
  if (state.isolation === 'users' && user !== undefined) {
    steps.push({
      name: `end every process of ${user.name}`,
      run: async () => {
        const { killUserProcesses } = await import('../isolation/processes.js');
        const r = await killUserProcesses(user.uid, { graceMs: 2000 });
        if (r.remaining.length > 0) throw new Error(`processes ${r.remaining.join(', ')} of ${user.name} survived`);
      },
    });
  }
  steps.push(...extra);
  steps.push({
    name: 'remove credential files',
    run: async () => {
      for (const f of state.files) await scrubPath(f);
      await scrubPath(jobFilesDir(layout, state.key));
    },
  });
  if (state.isolation === 'users' && user !== undefined) {
    const slotDirs = [join(config.driver.builds_dir, `slot${state.slot}`), join(config.driver.cache_dir, `slot${state.slot}`)];
    steps.push({
      // The next job on this slot may be another project's: it inherits no checkout, cache or planted file.
      name: `empty the builds and cache directories of slot ${state.slot}`,
      run: async () => {
        const { emptyDirAsUser } = await import('../isolation/slot-dirs.js');
        for (const dir of slotDirs) await emptyDirAsUser(user, dir);
      },
    });
    steps.push({
      name: `reset the home and temp files of ${user.name}`,
      run: async () => {
        const { resetJobHome } = await import('../isolation/home-reset.js');
        const r = await resetJobHome(user, { keep: slotDirs });
        if (r.problems.length > 0) throw new Error(r.problems.join('; '));
      },
    });
  }
  steps.push({ name: `release slot ${state.slot}`, run: () => releaseSlot(layout, state.slot, state.key) });
  return steps;
}

/** Runs every step, collects failures, audits, and deletes the state only when everything succeeded. */
export async function scrubJob(
  deps: { config: JobroleConfig; layout: StateLayout; audit: AuditLog; log: JobLog; extraSteps?: ScrubStep[]; reason: string },
  state: JobState,
): Promise<ScrubResult> {
  const result: ScrubResult = { failures: [], steps: [] };
  // From here on the state marks a dead job, and it keeps no credential the scrub itself does not need.
  try {
    await writeJobState(deps.layout, { ...state, phase: 'scrubbing', secrets: [], jobEnv: {} });
  } catch (err) {
    result.failures.push(`mark the job as being scrubbed: ${(err as Error).message}`);
  }
  for (const step of scrubSteps(deps.config, deps.layout, state, deps.extraSteps ?? [])) {
    try {
      await step.run();
      result.steps.push(step.name);
    } catch (err) {
      result.failures.push(`${step.name}: ${(err as Error).message}`);
    }
  }
  await deps.audit.write({
    event: 'scrub',
    job_id: state.job.id,
    job_key: state.key,
    project: state.job.projectPath,
    // Never a made-up 0 (state written by older versions may have one).
    pipeline_id: state.job.pipelineId !== undefined && state.job.pipelineId > 0 ? state.job.pipelineId : undefined,
    ref: state.job.ref,
    ...(state.role ? { role: state.role.name, role_arn: state.role.arn, session_name: state.role.sessionName } : {}),
    outcome: result.failures.length === 0 ? 'ok' : 'incomplete',
    detail: [deps.reason, ...result.failures].join('; '),
  });
  if (result.failures.length === 0) await deleteJobState(deps.layout, state.key);
  return result;
}
