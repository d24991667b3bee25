// Scrubs jobs whose cleanup never ran (runner killed, host rebooted): on demand, and swept at config/prepare.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isJobKey, listJobKeys, readJobState } from '../state/job-store.js';
import { readFileNoFollow, scrubPath } from '../core/secure-fs.js';
import { scrubJob } from './scrub-job.js';
import type { Services } from './services.js';
import { jobUndoSteps } from './undo-steps.js';

export interface GcReport {
  scrubbed: string[];
  failed: string[];
  live: string[];
}

/**
 * Scrubs every job that is not live (or every job, with all=true: for an operator whose runner is stopped).
 * oldDirs: also delete old slot directories left behind (slow on big trees: `jobrole gc` only, not the sweep).
 */
export async function collectGarbage(svc: Services, opts: { all?: boolean; oldDirs?: boolean } = {}): Promise<GcReport> {
  const { layout, log, audit } = svc;
  const report: GcReport = { scrubbed: [], failed: [], live: [] };
  for (const key of await listJobKeys(layout)) {
    let state;
    try {
      state = await readJobState(layout, key);
    } catch (err) {
      if (await mayHoldSwap(join(layout.jobs, key, 'state.json'))) {
        // Its undo record may be all that says how to give the host its profile back: keep it, stop new jobs.
        const reason = `job state ${key} is unreadable (${(err as Error).message}) and records an instance-profile swap; restore the instance profile by hand, then remove ${join(layout.jobs, key)} and run "jobrole gc --restore"`;
        const { markUnhealthy } = await import('../state/host-health.js');
        await markUnhealthy(svc.config.driver.state_dir, reason);
        log.warn(reason);
        report.failed.push(key);
        continue;
      }
      log.warn(`job state ${key} is unreadable (${(err as Error).message}); removing it`);
      await scrubPath(join(layout.jobs, key));
      continue;
    }
    if (state === undefined) {
      await scrubPath(join(layout.jobs, key));
      continue;
    }
    const liveness = await svc.host.liveness(state);
    if (liveness.live && opts.all !== true) {
      report.live.push(key);
      continue;
    }
    const why = liveness.live ? 'scrubbed on operator request (gc --all)' : `abandoned: ${liveness.why}`;
    const r = await scrubJob({ layout, audit, log, reason: `gc: ${why}`, steps: (st) => jobUndoSteps(st, svc) }, state);
    if (r.failures.length === 0) {
      report.scrubbed.push(key);
      log.line(`jobrole gc: scrubbed job ${state.job.id} (${key}): ${why}`);
    } else {
      report.failed.push(key);
      log.warn(`gc could not fully scrub job ${state.job.id} (${key}): ${r.failures.join('; ')}`);
    }
  }
  // Credential files of jobs whose state is already gone.
  const files = await readdir(layout.files).catch(() => [] as string[]);
  const keys = new Set(await listJobKeys(layout));
  for (const name of files) if (isJobKey(name) && !keys.has(name)) await scrubPath(join(layout.files, name));
  const { retryQuarantinedSlots, deleteLeftoverTrash, endOrphanSandboxes } = await import('./gc-slots.js');
  await endOrphanSandboxes(svc);
  const { removeOrphanEndpointFences } = await import('./gc-endpoint-fences.js');
  await removeOrphanEndpointFences(svc);
  await retryQuarantinedSlots(svc);
  if (opts.oldDirs === true) await deleteLeftoverTrash(svc);
  return report;
}

/** Whether an unreadable state file mentions an instance-profile undo record (or cannot even be read to tell). */
async function mayHoldSwap(file: string): Promise<boolean> {
  try {
    return (await readFileNoFollow(file)).includes('"instanceProfile"');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** The quick sweep config and prepare run before each job. Never fails the job on its own. */
export async function sweepOrphans(svc: Services): Promise<void> {
  try {
    await collectGarbage(svc);
  } catch (err) {
    svc.log.warn(`sweeping abandoned jobs failed: ${(err as Error).message}`);
  }
}
