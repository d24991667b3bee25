// Benchmark: a whole job's driver overhead — config + prepare (role, endpoint) + 10 run stages + cleanup — vs the
// same 10 stage scripts run directly by bash.

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startAwsEmulator } from '../../test/fakes/aws-emulator.js';
import { benchConfig, configure, newJob, stage } from './driver.js';
import { median } from './timing.js';

const execFileP = promisify(execFile);
const rounds = Number(process.env.JOBROLE_BENCH_ROUNDS ?? 10);
/** JOBROLE_BENCH_ISOLATION=users (as root): job users and the per-job sandbox, to see what they cost. */
const isolation = process.env.JOBROLE_BENCH_ISOLATION === 'users' ? 'users' : 'none';
const STAGES = [
  'prepare_script',
  'get_sources',
  'restore_cache',
  'download_artifacts',
  'build_script',
  'after_script',
  'archive_cache',
  'upload_artifacts_on_success',
  'step_release',
  'cleanup_file_variables',
];
const emu = await startAwsEmulator();
const dir = await mkdtemp(join(tmpdir(), 'jobrole-bench-job-'));
try {
  emu.addRole({ arn: 'arn:aws:iam::111122223333:role/bench', trust: { principals: [emu.hostRoleArn] } });
  const configPath = join(dir, 'config.toml');
  await writeFile(configPath, benchConfig(dir, emu.endpoint, emu.imdsEndpoint, isolation === 'users' ? 1 : 4, isolation), { mode: 0o600 });
  if (isolation === 'users') {
    await chmod(dir, 0o755);
    const init = await stage(configPath, await newJob(dir, 99, {}), ['host', 'init']);
    if (init.code !== 0) throw new Error(`host init failed: ${init.stderr}${init.stdout}`);
  }
  const scripts: string[] = [];
  for (const [i, name] of STAGES.entries()) {
    const p = join(dir, `script${i}`);
    await writeFile(
      p,
      `#!/usr/bin/env bash\ntrap 'exit 1' TERM\nset -o pipefail; set -o errexit; set +o noclobber\n(trap 'exit 1' TERM; eval 'echo "${name}"; true') < /dev/null\nexit 0\n`,
      { mode: 0o700 },
    );
    scripts.push(p);
  }
  const bash = async (p: string): Promise<void> => {
    await execFileP('bash', [p]);
  };
  const direct: number[] = [];
  const driver: number[] = [];
  const parts = { config: [] as number[], prepare: [] as number[], run: [] as number[], cleanup: [] as number[] };
  for (let r = 0; r < rounds + 2; r++) {
    let t = performance.now();
    for (const s of scripts) await bash(s);
    const d = performance.now() - t;
    const job = await newJob(dir, 100 + r, { JOBROLE_ROLE: 'bench' });
    const t0 = performance.now();
    await configure(configPath, job);
    const t1 = performance.now();
    const p = await stage(configPath, job, ['prepare']);
    if (p.code !== 0) throw new Error(`prepare failed: ${p.stderr}${p.stdout}`);
    const t2 = performance.now();
    for (const [i, s] of scripts.entries()) {
      const x = await stage(configPath, job, ['run', s, STAGES[i] as string]);
      if (x.code !== 0) throw new Error(`run failed: ${x.stderr}`);
    }
    const t3 = performance.now();
    await stage(configPath, job, ['cleanup']);
    t = performance.now();
    if (r < 2) continue; // warm-up
    direct.push(d);
    driver.push(t - t0);
    parts.config.push(t1 - t0);
    parts.prepare.push(t2 - t1);
    parts.run.push((t3 - t2) / scripts.length);
    parts.cleanup.push(t - t3);
  }
  const md = median(direct);
  const mj = median(driver);
  process.stdout.write(`\nwhole job, 10 stages, isolation "${isolation}" (median of ${rounds})\n`);
  process.stdout.write(`  bash, 10 stage scripts directly              ${md.toFixed(1).padStart(8)} ms   1.00x\n`);
  process.stdout.write(
    `  jobrole config+prepare+10 run+cleanup        ${mj.toFixed(1).padStart(8)} ms   ${(mj / md).toFixed(2)}x   (+${(mj - md).toFixed(0)} ms per job)\n`,
  );
  process.stdout.write(
    `    config ${median(parts.config).toFixed(0)} ms, prepare ${median(parts.prepare).toFixed(0)} ms (AssumeRole + endpoint start), run ${median(parts.run).toFixed(0)} ms each, cleanup ${median(parts.cleanup).toFixed(0)} ms\n`,
  );
} finally {
  if (isolation === 'users')
    await new Promise((r) =>
      execFile('bash', ['-c', 'pkill -KILL -u jrbench1; userdel jrbench1; nft delete table inet jrbench; nft delete table inet jrbench_ep'], () =>
        r(undefined),
      ),
    );
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
}
