// Benchmark: redactor throughput on ~1 GiB of log-like output vs `cat`, both reading a pipe and writing /dev/null.
// Size: JOBROLE_BENCH_MB (default 1024), rounds: JOBROLE_BENCH_ROUNDS (default 5). Run: npx tsx scripts/bench/redact.ts
//
// Why this baseline: in production the redactor sits between a job's stdout PIPE and a pipe to the runner. So every
// variant here sits in that same position: `cat log | X > /dev/null`, where X is `cat` (the baseline: the cheapest
// possible pipe-to-sink copy), a plain node stdin->stdout pipe (what node costs before any redaction), or the
// redactor (stdin chunks -> createSyncRedactor -> FdSink on fd 1, the way the run stage wires it). `cat < file > /dev/null`
// is not a fair baseline: it never touches a pipe, and tens of GB/s of page-cache copying is not a log stream.
// Rounds are interleaved (machine noise hits every variant alike); medians are reported.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { command, measure } from './timing.js';
import { logBlock, writeLog } from './log-lines.js';

const MB = Number(process.env.JOBROLE_BENCH_MB ?? '1024');
const ROUNDS = Number(process.env.JOBROLE_BENCH_ROUNDS ?? '5');
const here = dirname(fileURLToPath(import.meta.url));

/** `cat input | cmd args... > /dev/null`: the producer writes a pipe, the measured process reads it. */
function piped(input: string, cmd: string, args: string[]): () => void {
  return command('sh', ['-c', 'f=$1; shift; cat "$f" | "$@" > /dev/null', 'sh', input, cmd, ...args]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jobrole-bench-'));
  try {
    const token = randomBytes(600).toString('base64').replace(/=/g, '');
    const sak = randomBytes(30).toString('base64');
    const secrets = [token, sak, 'AKIAIOSFODNN7EXAMPLE', randomBytes(600).toString('base64')];
    const input = join(dir, 'log.txt');
    const block = logBlock(secrets);
    writeLog(input, block, MB);

    // The measured process: stdin (a pipe, like a job's stdout) -> redactor -> stdout, or the same without redactor.
    const entry = join(dir, 'pipe.ts');
    const src = resolve(here, '../../src/redact/redactor.js');
    const sinkSrc = resolve(here, '../../src/runner/fd-sink.js');
    writeFileSync(
      entry,
      `import { pipeline } from 'node:stream/promises';\nimport { createSyncRedactor } from ${JSON.stringify(src)};\n` +
        `import { FdSink } from ${JSON.stringify(sinkSrc)};\n` +
        `if (process.argv[2] === 'plain') await pipeline(process.stdin, process.stdout);\n` +
        `else {\n` +
        `  const sink = new FdSink(1, () => process.stdout);\n` +
        `  const r = createSyncRedactor({ secrets: JSON.parse(process.argv[3] ?? '[]') }, (pieces) => {\n` +
        `    if (!sink.write(pieces)) { process.stdin.pause(); sink.onDrain(() => process.stdin.resume()); }\n` +
        `  });\n` +
        `  process.stdin.on('data', (c) => r.chunks.write(c));\n` +
        `  await new Promise((res) => process.stdin.once('end', res));\n` +
        `  r.chunks.end();\n` +
        `  await new Promise((res) => sink.onDrain(res));\n` +
        `}\n`,
    );
    const bundle = join(dir, 'pipe.mjs');
    await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'error' });
    const registered = JSON.stringify(secrets.slice(0, 3));

    // Sanity: what is measured really masks (registered secrets, the key id and the unregistered token).
    const check = spawnSync(process.execPath, [bundle, 'redact', registered], { input: block, maxBuffer: 1 << 26 });
    const out = check.stdout.toString('latin1');
    const leaked = secrets.filter((s) => out.includes(s.replace(/=+$/, '').slice(0, 40)));
    if (check.status !== 0 || leaked.length > 0 || !out.includes('[MASKED]')) throw new Error('redactor output check failed');

    const variants = [
      { name: 'cat', run: piped(input, 'cat', []) },
      { name: 'node pipe (no redaction)', run: piped(input, process.execPath, [bundle, 'plain']) },
      { name: 'redactor (3 secrets)', run: piped(input, process.execPath, [bundle, 'redact', registered]) },
    ];
    const ms = await measure(variants, ROUNDS, 1);
    const rate = (name: string): number => (MB * 1024 * 1024) / 1e6 / ((ms.get(name) ?? NaN) / 1e3);
    const cat = rate('cat');
    const plain = rate('node pipe (no redaction)');
    console.log(`input: ${MB} MiB of log-like lines; \`cat file | X > /dev/null\`; median of ${ROUNDS} interleaved rounds`);
    for (const { name } of variants) {
      const r = rate(name);
      console.log(`${name.padEnd(28)} ${r.toFixed(0).padStart(7)} MB/s   ${(r / cat).toFixed(3)}x cat   ${(r / plain).toFixed(2)}x node pipe`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
