// Calls the built driver's stages the way gitlab-runner does (env, temp dir, response file), asynchronously so an
// in-process emulator keeps answering.

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildJobResponse } from '../../test/harness/runner.js';

export const CLI = resolve('dist/jobrole.cjs');

export interface BenchJob {
  tmp: string;
  env: Record<string, string>;
}

export function stage(configPath: string, job: BenchJob, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, '--config', configPath, ...args], { env: job.env, cwd: job.tmp, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

/** A runner temp dir with response.json, and the stage environment (runner's PATH + the runner's variables). */
export async function newJob(root: string, jobId: number, variables: Record<string, string>): Promise<BenchJob> {
  const tmp = join(root, `custom-executor${jobId}`);
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'response.json'), JSON.stringify(buildJobResponse({ jobId, projectId: 1, projectPath: 'bench/app', ref: 'main' })), {
    mode: 0o600,
  });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: root,
    LANG: 'C.UTF-8',
    TMPDIR: tmp,
    BUILD_FAILURE_EXIT_CODE: '1',
    SYSTEM_FAILURE_EXIT_CODE: '2',
    BUILD_EXIT_CODE_FILE: join(tmp, 'build_exit_code'),
    JOB_RESPONSE_FILE: join(tmp, 'response.json'),
  };
  for (const [k, v] of Object.entries(variables)) env[`CUSTOM_ENV_${k}`] = v;
  return { tmp, env };
}

/** config, then job_env into the environment; throws with the driver's words on failure. */
export async function configure(configPath: string, job: BenchJob): Promise<void> {
  const r = await stage(configPath, job, ['config']);
  if (r.code !== 0) throw new Error(`config failed: ${r.stderr}`);
  Object.assign(job.env, (JSON.parse(r.stdout) as { job_env: Record<string, string> }).job_env);
}

/** isolation "users" needs root and `jobrole host init` (job users jrbench<N>, nft table jrbench). */
export function benchConfig(dir: string, endpoint: string, imds: string, slots: number, isolation: 'none' | 'users' = 'none'): string {
  return `
[driver]
state_dir = "${join(dir, 'state')}"
builds_dir = "${join(dir, 'state', 'builds')}"
cache_dir = "${join(dir, 'state', 'cache')}"
home_dir = "${join(dir, 'state', 'home')}"
audit_log = "${join(dir, 'audit', 'audit.jsonl')}"
slots = ${slots}
job_user_prefix = "jrbench"
firewall_table = "jrbench"
[aws]
sts_endpoint = "${endpoint}"
imds_endpoint = "${imds}"
max_attempts = 10
[job]
isolation = "${isolation}"
[[roles]]
name = "bench"
arn = "arn:aws:iam::111122223333:role/bench"
`;
}
