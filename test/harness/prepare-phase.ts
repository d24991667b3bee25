// The runner's preparation: up to 3 attempts of config + prepare, each in a new temp dir, cleanup after a failed one.
import { chmod, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCleanup } from './cleanup.js';
import { parseConfigOutput, type ConfigOutput } from './config-output.js';
import { buildExitCodeFile, driverEnv, responseFile } from './env.js';
import { classify, type Failure } from './exit-codes.js';
import { invoke } from './invoke.js';
import { projectDirFor, runnerVariables } from './job-variables.js';
import { DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_PREPARE_RETRY_DELAY_MS, PREPARE_ATTEMPTS, logJob, type JobState } from './job-state.js';
import { makeNumberedDir } from './temp-dirs.js';

export interface PreparedExecutor {
  dir: string;
  config: ConfigOutput;
  projectDir: string;
  /** Environment of prepare (and, rebuilt per stage, of run and cleanup). */
  env: Record<string, string>;
}

export type PrepareResult = { ok: true; executor: PreparedExecutor } | { ok: false; failure: Failure };

const canceled: Failure = { kind: 'canceled', message: 'canceled' };

async function newExecutorDir(job: JobState): Promise<string> {
  const dir = await makeNumberedDir(job.tmpRoot, 'custom-executor', 0o700);
  job.tmpDirs.push(dir);
  // JOB_RESPONSE_FILE: the job response as GitLab sent it, mode 0600.
  await writeFile(responseFile(dir), job.facts.responseContent, { mode: 0o600, flag: 'wx' });
  await chmod(responseFile(dir), 0o600);
  return dir;
}

/** One attempt: config (stdout must be one JSON document), then prepare with config's job_env. */
async function attempt(job: JobState, dir: string): Promise<{ failure?: Failure; executor?: PreparedExecutor; cleanupEnv: Record<string, string> }> {
  const configEnv = driverEnv(job.runnerEnv, dir, undefined, [...runnerVariables(undefined, 'running'), ...job.facts.variables]);
  const cfg = await invoke(job, {
    name: 'config',
    stageArgs: ['config'],
    dir,
    env: configEnv,
    sink: 'config',
    timeoutMs: DEFAULT_EXEC_TIMEOUT_MS,
    cancellable: true,
  });
  const cfgFailure = await classify(cfg.outcome, buildExitCodeFile(dir));
  if (cfgFailure) return { failure: cfgFailure, cleanupEnv: configEnv };
  const parsed = parseConfigOutput(cfg.stdout);
  job.configOutput = parsed.ok ? parsed.config.raw : parsed.raw;
  if (!parsed.ok) return { failure: { kind: 'system', message: parsed.error }, cleanupEnv: configEnv };
  const config = parsed.config;
  const { driverName, driverVersion } = config;
  logJob(job, `Using Custom executor${driverName ? ` with driver ${driverName}${driverVersion ? ` ${driverVersion}` : ''}` : ''}...`);
  const projectDir = projectDirFor(config.buildsDir, job.facts.projectPath, config.buildsDirIsShared);
  const variables = [...runnerVariables({ buildsDir: config.buildsDir, projectDir }, 'running'), ...job.facts.variables];
  const env = driverEnv(job.runnerEnv, dir, config.jobEnv, variables);
  const prep = await invoke(job, { name: 'prepare', stageArgs: ['prepare'], dir, env, sink: 'job', timeoutMs: DEFAULT_EXEC_TIMEOUT_MS, cancellable: true });
  const prepFailure = await classify(prep.outcome, buildExitCodeFile(dir));
  if (prepFailure) return { failure: prepFailure, cleanupEnv: env };
  return { executor: { dir, config, projectDir, env }, cleanupEnv: env };
}

export async function preparePhase(job: JobState): Promise<PrepareResult> {
  const delayMs = job.opts.prepareRetryDelayMs ?? DEFAULT_PREPARE_RETRY_DELAY_MS;
  let last: Failure = { kind: 'system', message: 'preparation never ran' };
  for (let n = 1; n <= PREPARE_ATTEMPTS; n++) {
    if (job.cancel.canceled) return { ok: false, failure: canceled };
    job.prepareAttempts = n;
    logJob(job, 'Preparing the "custom" executor');
    const dir = await newExecutorDir(job);
    const result = await attempt(job, dir);
    if (result.executor) return { ok: true, executor: result.executor };
    last = job.cancel.canceled ? canceled : (result.failure ?? last);
    logJob(job, `ERROR: Preparation failed: ${last.message}`);
    await runCleanup(job, dir, result.cleanupEnv);
    // A build failure (or a cancel) is final; anything else is retried.
    if (last.kind === 'build' || last.kind === 'canceled' || job.cancel.canceled) return { ok: false, failure: job.cancel.canceled ? canceled : last };
    if (n < PREPARE_ATTEMPTS) {
      logJob(job, `Will be retried in ${delayMs / 1000}s ...`);
      await sleep(delayMs);
    }
  }
  return { ok: false, failure: last };
}
