// The runner's full job variable list: its own predefined variables (lowest precedence), then the response's.
import { join } from 'node:path';
import type { JobVariable } from './types.js';

const RUNNER_SHORT_TOKEN = 'hArn3ss0';

export interface BuildDirs {
  buildsDir: string;
  projectDir: string;
}

/** `<builds_dir>[/<short token>/<concurrent id>]/<project path>`, the shared form when config says so. */
export function projectDirFor(buildsDir: string, projectPath: string, shared: boolean): string {
  return shared ? join(buildsDir, RUNNER_SHORT_TOKEN, '0', projectPath) : join(buildsDir, projectPath);
}

/**
 * Predefined variables the runner itself adds before the response's (GetAllVariables). CI_BUILDS_DIR and
 * CI_PROJECT_DIR only exist once config has produced builds_dir, so config_exec does not get them.
 */
export function runnerVariables(dirs: BuildDirs | undefined, jobStatus: string): JobVariable[] {
  const v = (key: string, value: string): JobVariable => ({ key, value, public: true, masked: false });
  return [
    ...(dirs ? [v('CI_BUILDS_DIR', dirs.buildsDir), v('CI_PROJECT_DIR', dirs.projectDir)] : []),
    v('CI_CONCURRENT_ID', '0'),
    v('CI_CONCURRENT_PROJECT_ID', '0'),
    v('CI_SERVER', 'yes'),
    v('CI_JOB_STATUS', jobStatus),
    v('CI_RUNNER_SHORT_TOKEN', RUNNER_SHORT_TOKEN),
    v('CI_RUNNER_VERSION', '19.0.0'),
    v('CI_RUNNER_EXECUTABLE_ARCH', 'linux/amd64'),
  ];
}

/** Later entries win (GitLab precedence): collapse to one entry per key, keeping the last value. */
export function effectiveVariables(list: JobVariable[]): JobVariable[] {
  const byKey = new Map<string, JobVariable>();
  for (const v of list) {
    byKey.delete(v.key);
    byKey.set(v.key, v);
  }
  return [...byKey.values()];
}

export function variableValue(list: JobVariable[], key: string): string | undefined {
  return effectiveVariables(list).find((v) => v.key === key)?.value;
}
