// Runs cleanup_exec for an executor dir (never cancelled; its result never changes the job) and removes the dir.
import { rm } from 'node:fs/promises';
import { classify } from './exit-codes.js';
import { buildExitCodeFile } from './env.js';
import { invoke } from './invoke.js';
import { DEFAULT_EXEC_TIMEOUT_MS, logRunner, type JobState } from './job-state.js';

export async function runCleanup(job: JobState, dir: string, env: Record<string, string>): Promise<void> {
  const { outcome } = await invoke(job, {
    name: 'cleanup',
    stageArgs: ['cleanup'],
    dir,
    env,
    sink: 'runner',
    timeoutMs: DEFAULT_EXEC_TIMEOUT_MS,
    cancellable: false,
  });
  const failure = await classify(outcome, buildExitCodeFile(dir));
  if (failure) logRunner(job, `WARNING: Cleanup script failed: ${failure.message}`);
  // The runner deletes its custom-executorNNN dir after cleanup.
  if (!job.opts.keepTmp) await rm(dir, { recursive: true, force: true }).catch((err: Error) => logRunner(job, `WARNING: removing ${dir}: ${err.message}`));
}
