// `npm run bench`: every benchmark in turn, each printing ratios against a baseline measured in the same run.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benches = ['run-stage.ts', 'job-overhead.ts', 'sandbox.ts', 'fleet.ts', 'broker.ts', 'redact.ts', 'serve.ts', 'stage-output.ts'];
let failed = 0;
for (const b of benches) {
  process.stdout.write(`\n=== ${b}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, b)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
