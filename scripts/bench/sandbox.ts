// Benchmark (root): what the per-job sandbox costs. Per stage: entering it (nsenter + setsid + setpriv) vs the
// setpriv-only start used before; per job: starting it (prepare) and ending it (cleanup).

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, stopSandbox } from '../../src/isolation/sandbox.js';
import { dropPrivilegeArgs, enterSandboxArgs } from '../../src/isolation/run-as.js';
import { command, measure, median, report } from './timing.js';

if (process.getuid?.() !== 0) {
  process.stdout.write('\nsandbox: skipped (needs root)\n');
  process.exit(0);
}
const rounds = Number(process.env.JOBROLE_BENCH_ROUNDS ?? 30);
const nobody = { uid: 65534, gid: 65534 };
const dir = await mkdtemp(join(tmpdir(), 'jobrole-bench-sandbox-'));
try {
  const state = join(dir, 'state');
  const sub = ['jobs/k/sandbox', 'builds/slot1', 'cache/slot1', 'home', 'files/k'];
  for (const s of sub) await mkdir(join(state, s), { recursive: true });
  const start = () =>
    startSandbox({
      mounts: {
        stage: join(state, 'jobs/k/sandbox'),
        tmpSize: '1G',
        user: { ...nobody, home: join(state, 'home/u') },
        keep: [{ path: join(state, 'builds/slot1') }, { path: join(state, 'cache/slot1') }, { path: join(state, 'files/k'), readOnly: true }],
        hide: [state],
      },
      cgroupName: `bench-${process.pid}`,
      limits: { pidsMax: 0, memoryMax: '' },
      onStarted: async () => {},
    });
  // Per job: start (prepare's share) and stop (cleanup's share), one after the other.
  const starts: number[] = [];
  const stops: number[] = [];
  for (let i = 0; i < Math.min(rounds, 15); i++) {
    const t0 = performance.now();
    const rec = await start();
    const t1 = performance.now();
    await stopSandbox(rec);
    const t2 = performance.now();
    if (i > 0) {
      starts.push(t1 - t0);
      stops.push(t2 - t1);
    }
  }
  const rec = await start();
  try {
    const drop = dropPrivilegeArgs(nobody.uid, nobody.gid);
    const results = await measure(
      [
        { name: 'setpriv … true (before: no sandbox)', run: command('setpriv', [...drop, 'true']) },
        { name: 'nsenter … setsid setpriv … true (sandbox)', run: command('nsenter', [...enterSandboxArgs(rec), 'setpriv', ...drop, 'true']) },
      ],
      rounds,
    );
    report(`sandbox, per stage: starting the job's process (median of ${rounds})`, results, 'setpriv … true (before: no sandbox)');
  } finally {
    await stopSandbox(rec);
  }
  process.stdout.write(
    `sandbox, per job: start ${median(starts).toFixed(1)} ms (init, cgroup, mounts), stop ${median(stops).toFixed(1)} ms (kill, wait, cgroup removed)\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
