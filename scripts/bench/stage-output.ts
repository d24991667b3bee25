// Benchmark: stage output the way gitlab-runner reads it — a prepared job's `jobrole run` (job user, redactor with
// the job's secrets registered) with its stdout in a pipe a reader drains — vs `bash script | cat` in that position.
// Cases: `cat` of a log-like file (large writes), `seq` (4 KiB stdio writes), a printf loop (one write per line).
// JOBROLE_BENCH_MB (default 512), JOBROLE_BENCH_ROUNDS (default 3), JOBROLE_BENCH_ISOLATION (users | none;
// default users as root, else none), JOBROLE_BENCH_CLI (the jobrole.cjs to measure, default dist/jobrole.cjs: set it
// to an older build to compare), JOBROLE_BENCH_COMPARE (another jobrole.cjs measured in the same interleaved rounds).
// Run: npm run build && npx tsx scripts/bench/stage-output.ts

import { spawnSync } from 'node:child_process';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startWorld, isRoot } from '../../test/e2e/world.js';
import { CLI as BUILT_CLI, configure, newJob, stage } from './driver.js';
import { logBlock, writeLog } from './log-lines.js';
import { measure } from './timing.js';
import type { JobState } from '../../src/state/types.js';

const MB = Number(process.env.JOBROLE_BENCH_MB ?? '512');
const ROUNDS = Number(process.env.JOBROLE_BENCH_ROUNDS ?? '3');
const ISOLATION = (process.env.JOBROLE_BENCH_ISOLATION ?? (isRoot ? 'users' : 'none')) as 'users' | 'none';
const SEQ_LINES = Math.round(((MB / 2) * 1024 * 1024) / 9); // ~8.9 bytes a line: seq writes MB/2 MiB
const PRINTF_LINES = 300_000;
const CLI = process.env.JOBROLE_BENCH_CLI ?? BUILT_CLI;
const COMPARE = process.env.JOBROLE_BENCH_COMPARE;

const ROLE = `
[[roles]]
name = "bench"
arn = "arn:aws:iam::111122223333:role/bench"
`;

/** The runner's generated-script shape around a body. */
function runnerScript(body: string): string {
  return `#!/usr/bin/env bash\ntrap 'exit 1' TERM\nset -o pipefail; set -o errexit; set +o noclobber\n(trap 'exit 1' TERM; eval '${body.replace(/'/g, `'\\''`)}') < /dev/null\nexit 0\n`;
}

/** `sh -c 'X | cat > /dev/null'`, $1 = the script: the reader drains X's stdout pipe as gitlab-runner does. */
function pipedToReader(x: string, script: string, env: NodeJS.ProcessEnv): () => void {
  return () => {
    const r = spawnSync('sh', ['-c', `${x} | cat > /dev/null`, 'sh', script], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`${x} exited ${r.status}`);
  };
}

const world = await startWorld({ isolation: ISOLATION, roles: ROLE, slots: 1 });
try {
  world.emu.addRole({ arn: 'arn:aws:iam::111122223333:role/bench', trust: { principals: [world.emu.hostRoleArn] } });
  const job = await newJob(world.dir, 7001, { JOBROLE_ROLE: 'bench' });
  Object.assign(job.env, { PATH: world.runnerEnv.PATH, HOME: world.runnerEnv.HOME });
  await configure(world.configPath, job);
  const prep = await stage(world.configPath, job, ['prepare']);
  if (prep.code !== 0) throw new Error(`prepare failed: ${prep.stderr}${prep.stdout}`);
  const state = JSON.parse(await readFile(join(job.env.JOBROLE_JOB_DIR as string, 'state.json'), 'utf8')) as JobState;

  // The log goes where the job can read it (its slot's builds dir); its secrets are the ones prepare registered.
  const dataDir = join(world.stateDir, 'builds', `slot${state.slot}`);
  await mkdir(dataDir, { recursive: true });
  const log = join(dataDir, 'bench-log.txt');
  const secrets = [...state.secrets, 'AKIAIOSFODNN7EXAMPLE'];
  writeLog(log, logBlock(secrets), MB);
  if (state.user !== undefined) await chown(log, state.user.uid, state.user.gid);
  const cases = [
    { name: `cat ${MB} MiB log`, body: `cat ${log}`, bytes: MB * 1024 * 1024 },
    { name: `seq (${(MB / 2).toFixed(0)} MiB, 4 KiB writes)`, body: `seq 1 ${SEQ_LINES}`, bytes: 0 },
    {
      name: `printf loop (${PRINTF_LINES} writes)`,
      body: `for ((i=0; i<${PRINTF_LINES}; i++)); do printf 'line %d: compiling module_%d\\n' $i $i; done`,
      bytes: 0,
    },
  ];
  const scripts: string[] = [];
  for (const [i, c] of cases.entries()) {
    const p = join(dataDir, `script${i}`);
    await writeFile(p, runnerScript(c.body), { mode: 0o755 });
    c.bytes = Number(spawnSync('sh', ['-c', 'bash < "$1" | wc -c', 'sh', p], { encoding: 'utf8' }).stdout.trim());
    scripts.push(p);
  }

  // What is measured really masks: the job's registered secrets and the key id do not come through.
  const check = spawnSync(process.execPath, [CLI, 'run', scripts[0] as string, 'build_script'], { env: job.env, maxBuffer: (MB + 64) << 20 });
  const out = check.stdout.toString('latin1');
  const leaked = secrets.filter((s) => out.includes(s.replace(/=+$/, '').slice(0, 40)));
  if (check.status !== 0 || leaked.length > 0 || !out.includes('[MASKED]'))
    throw new Error(`stage output check failed (exit ${check.status}, ${leaked.length} secrets leaked): ${check.stderr.toString()}`);
  const seqOut = spawnSync(process.execPath, [CLI, 'run', scripts[1] as string, 'build_script'], { env: job.env, maxBuffer: (MB + 64) << 20 });
  if (seqOut.stdout.length !== cases[1]!.bytes) throw new Error(`jobrole run passed ${seqOut.stdout.length} bytes of seq output, bash ${cases[1]!.bytes}`);

  console.log(
    `isolation "${ISOLATION}"${state.user ? ` (job user ${state.user.name})` : ''}, ${state.secrets.length} registered secrets; ` +
      `\`X < script | cat > /dev/null\`, median of ${ROUNDS} interleaved rounds`,
  );
  for (const [i, c] of cases.entries()) {
    const script = scripts[i] as string;
    const ms = await measure(
      [
        // The run stage feeds the script to bash on stdin; the baseline does the same.
        { name: 'bash', run: pipedToReader('bash < "$1"', script, job.env) },
        { name: 'jobrole', run: pipedToReader(`"${process.execPath}" "${CLI}" run "$1" build_script`, script, job.env) },
        ...(COMPARE ? [{ name: 'compare', run: pipedToReader(`"${process.execPath}" "${COMPARE}" run "$1" build_script`, script, job.env) }] : []),
      ],
      ROUNDS,
      1,
    );
    const rate = (name: string): number => c.bytes / 1e6 / ((ms.get(name) ?? NaN) / 1e3);
    const b = rate('bash');
    const j = rate('jobrole');
    console.log(
      `${c.name.padEnd(34)} bash | cat ${b.toFixed(0).padStart(6)} MB/s   jobrole run | cat ${j.toFixed(0).padStart(6)} MB/s   ${(j / b).toFixed(2)}x`,
    );
    if (COMPARE) console.log(`${''.padEnd(34)} ${COMPARE}: ${rate('compare').toFixed(0).padStart(6)} MB/s   ${(rate('compare') / b).toFixed(2)}x`);
  }
  await stage(world.configPath, job, ['cleanup']);
} finally {
  await world.close();
}
