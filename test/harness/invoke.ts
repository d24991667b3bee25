// Runs one driver executable for a stage: routes its output, records it, lets tests hook in, honours cancel.
import { execStage, type ExecOutcome } from './exec-stage.js';
import type { JobState } from './job-state.js';

/** Where output goes (custom-executor.md table): config stdout is captured, never logged; cleanup goes to the runner log. */
export type Sink = 'config' | 'job' | 'runner';

export interface Invocation {
  /** Recorded stage name: config, prepare, cleanup, or the run stage's name. */
  name: string;
  /** Appended after the driver's own args. */
  stageArgs: string[];
  dir: string;
  env: Record<string, string>;
  sink: Sink;
  timeoutMs: number;
  /** cleanup cannot be cancelled, only timed out. */
  cancellable: boolean;
}

export interface InvokeResult {
  outcome: ExecOutcome;
  stdout: string;
}

export async function invoke(job: JobState, inv: Invocation): Promise<InvokeResult> {
  const stdout: Buffer[] = [];
  const toLog = inv.sink === 'runner' ? job.runnerLog : job.jobLog;
  const handle = execStage({
    command: job.opts.driver.command,
    args: [...(job.opts.driver.args ?? []), ...inv.stageArgs],
    cwd: inv.dir,
    env: inv.env,
    onStdout: (chunk) => (inv.sink === 'config' ? stdout.push(chunk) : toLog.push(chunk)),
    onStderr: (chunk) => toLog.push(chunk),
    timeoutMs: job.opts.stageTimeoutMs ?? inv.timeoutMs,
    gracefulKillMs: job.gracefulKillMs,
  });
  if (inv.cancellable) job.cancel.stageStarted(inv.name, handle);
  let hookError: { thrown: unknown } | undefined;
  try {
    await job.opts.onStage?.(inv.name, 'start', handle.pid === undefined ? {} : { pid: handle.pid });
  } catch (err) {
    hookError = { thrown: err };
    handle.terminate('cancel');
  }
  const outcome = await handle.done;
  if (inv.cancellable) job.cancel.stageEnded();
  const record: JobState['stages'][number] = {
    name: inv.name,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    durationMs: outcome.durationMs,
  };
  if (outcome.terminated) record.terminated = outcome.terminated;
  job.stages.push(record);
  if (hookError !== undefined) throw hookError.thrown;
  await job.opts.onStage?.(inv.name, 'end', handle.pid === undefined ? {} : { pid: handle.pid });
  return { outcome, stdout: Buffer.concat(stdout).toString('utf8') };
}
