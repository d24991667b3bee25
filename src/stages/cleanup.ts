// Stage cleanup: idempotent scrub from whatever state exists; nothing to do is success.

import { SystemFailure } from '../core/exit-codes.js';
import { jobStateDirFromEnv } from '../runner/env.js';
import { readJobState } from '../state/job-store.js';
import { scrubJob } from './scrub-job.js';
import type { Services } from './services.js';
import { jobUndoSteps } from './undo-steps.js';

export async function cleanupStage(svc: Services, env: NodeJS.ProcessEnv): Promise<void> {
  const { layout, log, audit } = svc;
  const dir = jobStateDirFromEnv(env, layout.jobs);
  if (dir === undefined) {
    log.line('jobrole cleanup: no job state was handed over (config did not get that far); nothing to scrub');
    return;
  }
  const key = dir.split('/').pop() as string;
  const state = await readJobState(layout, key);
  if (state === undefined) {
    log.line(`jobrole cleanup: job ${key} has no state left (already scrubbed); nothing to do`);
    return;
  }
  const r = await scrubJob({ layout, audit, log, reason: 'cleanup', steps: (s) => jobUndoSteps(s, svc) }, state);
  if (r.failures.length > 0) {
    throw new SystemFailure(`cleanup of job ${state.job.id} (${key}) was incomplete; "jobrole gc" retries it: ${r.failures.join('; ')}`);
  }
  log.line(`jobrole cleanup: job ${state.job.id} scrubbed (${r.steps.join(', ')})`);
}
