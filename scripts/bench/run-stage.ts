// Benchmark: `jobrole run` on a trivial stage script vs `node -e 0` and vs plain `bash script` (target ≤ 1.3× node -e 0).

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { command, measure, report } from './timing.js';
import type { JobState } from '../../src/state/types.js';

const rounds = Number(process.env.JOBROLE_BENCH_ROUNDS ?? 40);
const dir = await mkdtemp(join(tmpdir(), 'jobrole-bench-run-'));
try {
  const key = '1-0123456789ab';
  const jobDir = join(dir, 'jobs', key);
  await mkdir(jobDir, { recursive: true, mode: 0o700 });
  const state: JobState = {
    version: 1,
    key,
    createdAt: new Date().toISOString(),
    deadline: new Date(Date.now() + 3600_000).toISOString(),
    runner: { pid: process.pid, startTime: undefined, tmpDir: dir },
    job: { id: 1, projectId: 1, projectPath: 'bench/app', pipelineId: 1, ref: 'main' },
    slot: 1,
    isolation: 'none',
    phase: 'prepared',
    jobEnv: { AWS_REGION: 'us-east-1' },
    secrets: ['not-a-real-secret-but-long-enough-to-register'],
    files: [],
  };
  await writeFile(join(jobDir, 'state.json'), JSON.stringify(state), { mode: 0o600 });
  const script = join(dir, 'script');
  // The runner's generated-script shape around a trivial body.
  await writeFile(
    script,
    "#!/usr/bin/env bash\ntrap 'exit 1' TERM\nset -o pipefail; set -o errexit; set +o noclobber\n(trap 'exit 1' TERM; eval 'echo hello') < /dev/null\nexit 0\n",
    { mode: 0o700 },
  );
  const env = {
    ...process.env,
    JOBROLE_JOB_DIR: jobDir,
    BUILD_FAILURE_EXIT_CODE: '1',
    SYSTEM_FAILURE_EXIT_CODE: '2',
    BUILD_EXIT_CODE_FILE: join(dir, 'build_exit_code'),
  };
  const cli = resolve('dist/jobrole.cjs');
  const results = await measure(
    [
      { name: 'node -e 0', run: command(process.execPath, ['-e', '0']) },
      { name: 'bash script', run: command('bash', [script]) },
      { name: 'jobrole run script build_script', run: command(process.execPath, [cli, 'run', script, 'build_script'], { env }) },
    ],
    rounds,
  );
  report(`run stage start-up (median of ${rounds}, interleaved)`, results, 'node -e 0');
  const ratio = (results.get('jobrole run script build_script') ?? 0) / (results.get('node -e 0') ?? 1);
  process.stdout.write(`  target: jobrole run ≤ 1.30x node -e 0 → ${ratio <= 1.3 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
