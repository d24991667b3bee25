// The mutable record of one harness job: options with defaults, logs, stage records, temp dirs, cancellation.
import { tmpdir } from 'node:os';
import { createCancelController, type CancelController } from './cancel.js';
import { defaultRunnerEnv } from './env.js';
import { resolveJobFacts, type JobFacts } from './job-facts.js';
import type { RunJobOptions, StageRecord } from './types.js';

/** The runner's defaults: graceful_kill_timeout 10 min, PreparationRetryInterval 3 s, *_exec_timeout 1 h. */
const DEFAULT_GRACEFUL_KILL_MS = 600_000;
export const DEFAULT_PREPARE_RETRY_DELAY_MS = 3000;
export const DEFAULT_EXEC_TIMEOUT_MS = 3_600_000;
export const PREPARE_ATTEMPTS = 3;

export interface JobState {
  opts: RunJobOptions;
  facts: JobFacts;
  runnerEnv: Record<string, string>;
  tmpRoot: string;
  gracefulKillMs: number;
  jobLog: Buffer[];
  runnerLog: Buffer[];
  stages: StageRecord[];
  tmpDirs: string[];
  cancel: CancelController;
  configOutput: Record<string, unknown> | undefined;
  prepareAttempts: number;
}

export function createJobState(opts: RunJobOptions): JobState {
  return {
    opts,
    facts: resolveJobFacts(opts),
    runnerEnv: opts.runnerEnv ?? defaultRunnerEnv(),
    tmpRoot: opts.tmpRoot ?? tmpdir(),
    gracefulKillMs: opts.gracefulKillMs ?? DEFAULT_GRACEFUL_KILL_MS,
    jobLog: [],
    runnerLog: [],
    stages: [],
    tmpDirs: [],
    cancel: createCancelController(opts.cancelAfterMs),
    configOutput: undefined,
    prepareAttempts: 0,
  };
}

function appendLine(buffers: Buffer[], text: string): void {
  const last = buffers.at(-1);
  const needsBreak = last !== undefined && last.length > 0 && last[last.length - 1] !== 0x0a;
  buffers.push(Buffer.from(`${needsBreak ? '\n' : ''}${text}\n`));
}

/** A line the runner itself writes to the job log. */
export function logJob(job: JobState, text: string): void {
  appendLine(job.jobLog, text);
}

/** A line the runner writes to its own log. */
export function logRunner(job: JobState, text: string): void {
  appendLine(job.runnerLog, text);
}
