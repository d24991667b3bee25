// Scrubs one job from whatever state exists: every undo step runs even if another fails; state is deleted last.

import type { AuditLog } from '../audit/audit-log.js';
import type { JobLog } from '../core/job-log.js';
import type { UndoStep } from '../core/undo-step.js';
import { deleteJobState, type StateLayout, writeJobState } from '../state/job-store.js';
import { releaseSlot, slotHolders } from '../state/slots.js';
import { liftQuarantine, quarantineSlot, readQuarantine } from '../state/quarantine.js';
import { claimScrub, currentOwner, releaseScrub } from '../state/scrub-owner.js';
import type { JobState } from '../state/types.js';

export interface ScrubResult {
  failures: string[];
  steps: string[];
}

/**
 * Runs every step, collects failures, audits, and deletes the state only when everything succeeded. Only
 * one process scrubs a job (claimScrub); another one's live scrub is reported as a failure, not joined.
 * The slot is released only after a complete scrub; after a failed one it is quarantined (unless another
 * job holds it by now).
 */
export async function scrubJob(
  deps: { layout: StateLayout; audit: AuditLog; log: JobLog; steps: (state: JobState) => UndoStep[]; reason: string },
  state: JobState,
): Promise<ScrubResult> {
  const result: ScrubResult = { failures: [], steps: [] };
  const claim = await claimScrub(deps.layout, state.key);
  if (!claim.ok) {
    result.failures.push(`job ${state.job.id} (${state.key}) is being scrubbed by process ${claim.owner.pid}; left to it`);
    return result;
  }
  // From here on the state marks a dead job, and it keeps no credential the scrub itself does not need.
  try {
    await writeJobState(deps.layout, { ...state, phase: 'scrubbing', secrets: [], jobEnv: {}, scrubber: await currentOwner() });
  } catch (err) {
    result.failures.push(`mark the job as being scrubbed: ${(err as Error).message}`);
  }
  for (const step of deps.steps(state)) {
    try {
      await step.run();
      result.steps.push(step.name);
    } catch (err) {
      result.failures.push(`${step.name}: ${(err as Error).message}`);
    }
  }
  const holder = (await slotHolders(deps.layout, state.slot)).find((h) => h.slot === state.slot)?.holder;
  const ours = holder === undefined || holder === state.key;
  if (ours && result.failures.length === 0) {
    const q = await readQuarantine(deps.layout, state.slot);
    if (q === undefined || q.key === undefined || q.key === state.key) await liftQuarantine(deps.layout, state.slot);
    await releaseSlot(deps.layout, state.slot, state.key);
    result.steps.push(`release slot ${state.slot}`);
  } else if (ours) {
    // Never half-released: the next job on this slot would inherit whatever the failed step left.
    await quarantineSlot(deps.layout, state.slot, state.key, result.failures.join('; ')).catch((err: Error) => {
      result.failures.push(`quarantine slot ${state.slot}: ${err.message}`);
    });
    deps.log.warn(`slot ${state.slot} is quarantined until a scrub succeeds ("jobrole gc" retries it): ${result.failures.join('; ')}`);
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
  else await releaseScrub(deps.layout, state.key);
  return result;
}
