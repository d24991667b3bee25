// Plays gitlab-runner's part for one job against a custom-executor driver: prepare attempts, run stages, cleanup.
import { rm } from 'node:fs/promises';
import { runCleanup } from './cleanup.js';
import { driverEnv } from './env.js';
import { statusOf, type Failure } from './exit-codes.js';
import { runnerVariables } from './job-variables.js';
import { createJobState, logJob, type JobState } from './job-state.js';
import { preparePhase } from './prepare-phase.js';
import { runPhase } from './run-phase.js';
import type { JobResult, RunJobOptions } from './types.js';

export { buildJobResponse } from './job-response.js';
export type { JobResponse, JobResponseInput } from './job-response.js';
export type * from './types.js';

function finalLine(job: JobState, failure: Failure | undefined): string {
  if (!failure) return 'Job succeeded';
  switch (failure.kind) {
    case 'canceled':
      return 'ERROR: Job failed: canceled';
    case 'timeout':
      return `ERROR: Job failed: execution took longer than ${job.opts.stageTimeoutMs ?? job.facts.timeoutSec * 1000}ms`;
    case 'system':
      return `ERROR: Job failed (system failure): ${failure.message}`;
    default:
      return `ERROR: Job failed: ${failure.message}`;
  }
}

async function runAll(job: JobState): Promise<Failure | undefined> {
  const prepared = await preparePhase(job);
  if (!prepared.ok) return prepared.failure;
  const ex = prepared.executor;
  let failure: Failure | undefined;
  try {
    failure = await runPhase(job, ex);
  } finally {
    // Cleanup always runs last, cannot be cancelled, and gets prepare's environment.
    job.cancel.close();
    const variables = [...runnerVariables({ buildsDir: ex.config.buildsDir, projectDir: ex.projectDir }, 'running'), ...job.facts.variables];
    await runCleanup(job, ex.dir, driverEnv(job.runnerEnv, ex.dir, ex.config.jobEnv, variables));
  }
  return failure;
}

export async function runJob(opts: RunJobOptions): Promise<JobResult> {
  const job = createJobState(opts);
  let failure: Failure | undefined;
  try {
    failure = await runAll(job);
    // Canceled at any point before the final cleanup: the job is canceled, whatever the stages returned.
    if (job.cancel.canceled) failure = { kind: 'canceled', message: 'canceled' };
  } catch (err) {
    if (!opts.keepTmp) await Promise.all(job.tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
    throw err;
  } finally {
    job.cancel.close();
  }
  logJob(job, finalLine(job, failure));
  return {
    status: statusOf(failure),
    jobLog: Buffer.concat(job.jobLog).toString('utf8'),
    runnerLog: Buffer.concat(job.runnerLog).toString('utf8'),
    configOutput: job.configOutput,
    stages: job.stages,
    buildExitCode: failure?.kind === 'build' ? failure.exitCode : undefined,
    prepareAttempts: job.prepareAttempts,
    tmpDirs: job.tmpDirs,
  };
}
