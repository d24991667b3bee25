// The runner's run phase: one run_exec call per stage, in the runner's order, with its exit-code rules.
import { buildExitCodeFile, driverEnv } from './env.js';
import { classify, statusOf, type Failure } from './exit-codes.js';
import { invoke } from './invoke.js';
import { runnerVariables, variableValue } from './job-variables.js';
import type { JobState } from './job-state.js';
import type { PreparedExecutor } from './prepare-phase.js';
import { writeStageScript } from './script.js';
import { stageBody } from './stage-bodies.js';

const canceled: Failure = { kind: 'canceled', message: 'canceled' };

function createStageRunner(job: JobState, ex: PreparedExecutor) {
  let jobStatus = 'running';
  const dirs = { buildsDir: ex.config.buildsDir, projectDir: ex.projectDir };
  const variables = () => [...runnerVariables(dirs, jobStatus), ...job.facts.variables];

  /** Generated script in a new scriptNNN dir, then `run_exec <run_args> <script> <stage>`. */
  async function runStage(stage: string): Promise<Failure | undefined> {
    const vars = variables();
    const body = stageBody(stage, {
      variables: vars,
      projectDir: ex.projectDir,
      hostname: ex.config.hostname,
      steps: job.opts.steps,
      sha: job.facts.sha,
      ref: job.facts.ref,
    });
    const script = await writeStageScript(ex.dir, body);
    const { outcome } = await invoke(job, {
      name: stage,
      stageArgs: ['run', script, stage],
      dir: ex.dir,
      env: driverEnv(job.runnerEnv, ex.dir, ex.config.jobEnv, vars),
      sink: 'job',
      timeoutMs: job.facts.timeoutSec * 1000,
      cancellable: true,
    });
    return classify(outcome, buildExitCodeFile(ex.dir));
  }

  /** A stage under the job's context: once the job is canceled it fails without running. */
  const guarded = (stage: string): Promise<Failure | undefined> => (job.cancel.canceled ? Promise.resolve(canceled) : runStage(stage));

  /** get_sources / restore_cache / download_artifacts: retried per their *_ATTEMPTS variable (1..10, default 1). */
  async function withAttempts(stage: string, attemptsVar: string): Promise<Failure | undefined> {
    const wanted = Number.parseInt(variableValue(variables(), attemptsVar) ?? '1', 10);
    const attempts = Number.isInteger(wanted) && wanted >= 1 && wanted <= 10 ? wanted : 1;
    let failure: Failure | undefined;
    for (let n = 1; n <= attempts; n++) {
      if (n > 1 && stage === 'get_sources') await guarded('clear_worktree');
      failure = await guarded(stage);
      if (!failure || failure.kind === 'canceled' || job.cancel.canceled) break;
    }
    return failure;
  }

  return {
    runStage,
    guarded,
    withAttempts,
    setJobStatus: (s: string) => {
      jobStatus = s;
    },
  };
}

/** Returns the error that decides the job: the job's own, else archive_cache's, else upload_artifacts'. */
export async function runPhase(job: JobState, ex: PreparedExecutor): Promise<Failure | undefined> {
  const r = createStageRunner(job, ex);
  const { hasCache = false, hasArtifacts = false, steps } = job.opts;
  let err = await r.guarded('prepare_script');
  if (!err) err = await r.withAttempts('get_sources', 'GET_SOURCES_ATTEMPTS');
  if (!err && hasCache) err = await r.withAttempts('restore_cache', 'RESTORE_CACHE_ATTEMPTS');
  if (!err && hasArtifacts) err = await r.withAttempts('download_artifacts', 'ARTIFACT_DOWNLOAD_ATTEMPTS');
  if (!err) {
    err = await r.guarded('build_script');
    if (job.cancel.canceled) err = canceled;
    // after_script runs once user steps were reached, also after a failure or a cancel; its result is ignored.
    if (steps.afterScript && steps.afterScript.length > 0) {
      r.setJobStatus(statusOf(err) === 'success' ? 'success' : statusOf(err) === 'canceled' ? 'canceled' : 'failed');
      await r.runStage('after_script');
    }
  }
  let archiveErr: Failure | undefined;
  if (hasCache) archiveErr = await r.runStage(err ? 'archive_cache_on_failure' : 'archive_cache');
  let uploadErr: Failure | undefined;
  if (hasArtifacts) uploadErr = await r.runStage(err ? 'upload_artifacts_on_failure' : 'upload_artifacts_on_success');
  await r.runStage('cleanup_file_variables');
  return err ?? archiveErr ?? uploadErr;
}
