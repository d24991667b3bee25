// Benchmark: 20 jobs preparing at once against the emulator with STS throttling switched on (all must succeed
// thanks to backoff), and the memory of their 20 concurrent credentials endpoints.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAwsEmulator } from '../../test/fakes/aws-emulator.js';
import { benchConfig, configure, newJob, stage } from './driver.js';

const JOBS = Number(process.env.JOBROLE_BENCH_JOBS ?? 20);
const RATE = Number(process.env.JOBROLE_BENCH_STS_RATE ?? 5);

async function memory(pid: number): Promise<{ rss: number; pss: number; priv: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kb('Rss'), pss: kb('Pss'), priv: kb('Private_Clean') + kb('Private_Dirty') };
}

const emu = await startAwsEmulator();
const dir = await mkdtemp(join(tmpdir(), 'jobrole-bench-fleet-'));
try {
  emu.addRole({ arn: 'arn:aws:iam::111122223333:role/bench', trust: { principals: [emu.hostRoleArn] } });
  const configPath = join(dir, 'config.toml');
  await writeFile(configPath, benchConfig(dir, emu.endpoint, emu.imdsEndpoint, JOBS), { mode: 0o600 });
  const jobs = await Promise.all(Array.from({ length: JOBS }, (_, i) => newJob(dir, 1000 + i, { JOBROLE_ROLE: 'bench' })));
  for (const job of jobs) await configure(configPath, job);
  emu.faults.rateLimit('AssumeRole', RATE);
  const t0 = performance.now();
  const results = await Promise.all(
    jobs.map(async (job) => {
      const t = performance.now();
      const r = await stage(configPath, job, ['prepare']);
      return { ...r, ms: performance.now() - t };
    }),
  );
  const total = performance.now() - t0;
  const ok = results.filter((r) => r.code === 0).length;
  const assume = emu.calls.filter((c) => c.action === 'AssumeRole');
  const throttled = assume.filter((c) => c.error === 'Throttling').length;
  const slowest = Math.max(...results.map((r) => r.ms));
  process.stdout.write(`\n${JOBS} jobs preparing at once, STS AssumeRole limited to ${RATE}/s\n`);
  process.stdout.write(
    `  succeeded ${ok}/${JOBS} in ${(total / 1000).toFixed(1)} s (slowest prepare ${(slowest / 1000).toFixed(1)} s); ${assume.length} AssumeRole calls, ${throttled} throttled and retried\n`,
  );
  for (const r of results) if (r.code !== 0) process.stdout.write(`  failed: ${r.stderr.split('\n').slice(-2).join(' ')}\n`);

  // Memory of the running credentials endpoints, one per job.
  const mems: Array<{ rss: number; pss: number; priv: number }> = [];
  for (const job of jobs) {
    const state = JSON.parse(await readFile(join(job.env.JOBROLE_JOB_DIR as string, 'state.json'), 'utf8')) as { broker?: { pid: number } };
    if (state.broker) mems.push(await memory(state.broker.pid));
  }
  const sum = (k: 'rss' | 'pss' | 'priv') => mems.reduce((a, m) => a + m[k], 0) / 1024;
  process.stdout.write(
    `  ${mems.length} endpoints: RSS ${(sum('rss') / mems.length).toFixed(1)} MB each (shared code counted in each), ` +
      `PSS ${(sum('pss') / mems.length).toFixed(1)} MB each, private ${(sum('priv') / mems.length).toFixed(1)} MB each; ` +
      `${sum('pss').toFixed(0)} MB PSS in all\n`,
  );
  emu.faults.clear();
  await Promise.all(jobs.map((job) => stage(configPath, job, ['cleanup'])));
} finally {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
}
