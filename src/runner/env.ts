// The runner-provided environment of a stage, and the minimal explicit environment a job starts from.

import { join } from 'node:path';
import { SystemFailure } from '../core/exit-codes.js';

/** job_env key that carries the job's state directory from config to the later stages. */
export const JOB_STATE_VAR = 'JOBROLE_JOB_DIR';

/** The PATH of a job without one from the runner, and of the helpers the driver runs as a job user. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The state dir config handed to later stages, checked to be one of ours under stateJobsDir when given. */
export function jobStateDirFromEnv(env: NodeJS.ProcessEnv, stateJobsDir?: string): string | undefined {
  const dir = env[JOB_STATE_VAR];
  if (dir === undefined || dir === '') return undefined;
  if (!/^\/[^\0]*\/jobs\/\d{1,20}-[a-f0-9]{12}$/.test(dir) || dir.includes('/../')) {
    throw new SystemFailure(`${JOB_STATE_VAR}=${JSON.stringify(dir.slice(0, 80))} is not a jobrole job directory`);
  }
  if (stateJobsDir !== undefined && join(stateJobsDir, dir.split('/').pop() ?? '') !== dir) {
    throw new SystemFailure(`${JOB_STATE_VAR} points outside [driver].state_dir (${stateJobsDir}): was the config changed while the job ran?`);
  }
  return dir;
}

/**
 * The environment a job script starts from: nothing of the runner's own environment (no AWS_*, no proxy
 * credentials, no tokens) except PATH and the locale; the generated script exports the job's variables itself.
 */
export function baseJobEnv(runnerEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = { PATH: runnerEnv.PATH && runnerEnv.PATH !== '' ? runnerEnv.PATH : SAFE_PATH, SHELL: '/bin/bash' };
  for (const key of ['LANG', 'LC_ALL', 'TZ']) {
    const v = runnerEnv[key];
    if (v !== undefined) env[key] = v;
  }
  return env;
}
