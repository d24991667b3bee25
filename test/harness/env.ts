// The environment the runner gives each driver executable, layered as custom-executor.md says (later wins).
import { join } from 'node:path';
import type { JobVariable } from './types.js';

export const BUILD_FAILURE_EXIT_CODE = 1;
export const SYSTEM_FAILURE_EXIT_CODE = 2;

export function buildExitCodeFile(executorDir: string): string {
  return join(executorDir, 'build_exit_code');
}

export function responseFile(executorDir: string): string {
  return join(executorDir, 'response.json');
}

/** PATH, HOME and LANG of this process: the default "runner process environment". */
export function defaultRunnerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/**
 * 1. the runner's own environment; 2. TMPDIR, BUILD_FAILURE_EXIT_CODE, SYSTEM_FAILURE_EXIT_CODE,
 * BUILD_EXIT_CODE_FILE, JOB_RESPONSE_FILE; 3. config's job_env, unprefixed (not for config itself);
 * 4. CUSTOM_ENV_<KEY> for every job variable, file-type ones as their content.
 */
export function driverEnv(
  runnerEnv: Record<string, string>,
  executorDir: string,
  jobEnv: Record<string, string> | undefined,
  variables: JobVariable[],
): Record<string, string> {
  const env: Record<string, string> = { ...runnerEnv };
  env['TMPDIR'] = executorDir;
  env['BUILD_FAILURE_EXIT_CODE'] = String(BUILD_FAILURE_EXIT_CODE);
  env['SYSTEM_FAILURE_EXIT_CODE'] = String(SYSTEM_FAILURE_EXIT_CODE);
  env['BUILD_EXIT_CODE_FILE'] = buildExitCodeFile(executorDir);
  env['JOB_RESPONSE_FILE'] = responseFile(executorDir);
  Object.assign(env, jobEnv ?? {});
  for (const v of variables) env[`CUSTOM_ENV_${v.key}`] = v.value;
  return env;
}
