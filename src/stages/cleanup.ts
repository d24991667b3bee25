// Stage cleanup: idempotent scrub from whatever state exists; nothing to do is success.

import type { JobroleConfig } from '../config/types.js';
import { auditLog } from '../audit/audit-log.js';
import { SystemFailure } from '../core/exit-codes.js';
import { jobStateDirFromEnv } from '../runner/env.js';
import type { JobLog } from '../core/job-log.js';
import { readJobState, stateLayout } from '../state/job-store.js';
import { scrubJob } from './scrub-job.js';
import { extraScrubSteps } from './scrub-extras.js';

export async function cleanupStage(config: JobroleConfig, env: NodeJS.ProcessEnv, log: JobLog): Promise<void> {
  const layout = stateLayout(config.driver.state_dir);
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
  const audit = auditLog(config.driver.audit_log, (e) => log.warn(`cannot write the audit log ${config.driver.audit_log}: ${e.message}`));
  const r = await scrubJob({ config, layout, audit, log, reason: 'cleanup', extraSteps: await extraScrubSteps(config, state, log) }, state);
  if (r.failures.length > 0) {
    throw new SystemFailure(`cleanup of job ${state.job.id} (${key}) was incomplete; "jobrole gc" retries it: ${r.failures.join('; ')}`);
  }
  log.line(`jobrole cleanup: job ${state.job.id} scrubbed (${r.steps.join(', ')})`);
}
