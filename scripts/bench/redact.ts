// Benchmark: redactor throughput on ~1 GiB of log-like output vs `cat` and a plain node pipe, same setup.
// Size: JOBROLE_BENCH_MB (default 1024). Run: npx tsx scripts/bench/redact.ts

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const MB = Number(process.env.JOBROLE_BENCH_MB ?? '1024');
const here = dirname(fileURLToPath(import.meta.url));

function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

/** ~16 MiB of varied log lines; a secret (known or shaped) about once every 5,000 lines. */
function logBlock(secrets: string[]): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 16 * 1024 * 1024; i++) {
    let line: string;
    switch (i % 8) {
      case 0: line = `[${i}/99999] gcc -O2 -Wall -Iinclude -c src/module_${i % 997}/parser.c -o build/module_${i % 997}/parser.o`; break;
      case 1: line = `commit ${hex(40)} Merge branch 'feature/login-${i % 31}' into 'main'`; break;
      case 2: line = `  ok ${i} - parses quoted strings with escapes (${(i % 17) / 10}ms)`; break;
      case 3: line = `npm WARN deprecated glob@7.2.${i % 9}: Glob versions prior to v9 are no longer supported`; break;
      case 4: line = `    at Object.<anonymous> (/builds/group/project/node_modules/jest-circus/build/utils.js:${i % 400}:17)`; break;
      case 5: line = `Step ${i % 40}/40 : RUN apt-get install -y --no-install-recommends libssl-dev  ---> ${hex(12)}`; break;
      case 6: line = `Downloading https://registry.example.com/pkg/-/pkg-${i % 50}.${i % 7}.0.tgz (${i % 900} kB)`; break;
      default: line = `PASS src/__tests__/component_${i % 300}.test.tsx (${(i % 50) / 10} s) sha256:${hex(64)}`;
    }
    if (i % 5000 === 4999) line = `debug: using ${secrets[(i / 5000) % secrets.length | 0]!}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n');
}

function timeRun(cmd: string, args: string[], input: string): Promise<number> {
  return new Promise((res, rej) => {
    const fd = openSync(input, 'r');
    const out = openSync('/dev/null', 'w');
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: [fd, out, 'inherit'] });
    child.on('error', rej);
    child.on('exit', (code) => {
      closeSync(fd);
      closeSync(out);
      if (code !== 0) rej(new Error(`${cmd} exited ${code}`));
      else res(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jobrole-bench-'));
  try {
    const token = randomBytes(600).toString('base64').replace(/=/g, '');
    const sak = randomBytes(30).toString('base64');
    const secrets = [token, sak, 'AKIAIOSFODNN7EXAMPLE', randomBytes(600).toString('base64')];
    const input = join(dir, 'log.txt');
    const block = logBlock(secrets);
    const fd = openSync(input, 'w');
    let written = 0;
    while (written < MB * 1024 * 1024) written += writeSync(fd, block, 0, Math.min(block.length, MB * 1024 * 1024 - written));
    closeSync(fd);

    const entry = join(dir, 'pipe.ts');
    const src = resolve(here, '../../src/redact/redactor.js');
    writeFileSync(
      entry,
      `import { createReadStream, createWriteStream } from 'node:fs';\nimport { pipeline } from 'node:stream/promises';\n` +
        `import { createRedactor } from ${JSON.stringify(src)};\n` +
        `const input = createReadStream('', { fd: 0, highWaterMark: 1 << 20 });\nconst output = createWriteStream('', { fd: 1 });\n` +
        `if (process.argv[2] === 'plain') await pipeline(input, output);\n` +
        `else await pipeline(input, createRedactor({ secrets: JSON.parse(process.argv[3] ?? '[]') }).stream, output);\n`,
    );
    const bundle = join(dir, 'pipe.mjs');
    await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'error' });

    const bytes = MB * 1024 * 1024;
    const rate = (s: number): number => bytes / 1e6 / s;
    await timeRun('cat', [], input); // warm the page cache
    const results: Array<[string, number]> = [];
    for (const [name, cmd, args] of [
      ['cat', 'cat', []],
      ['node pipe (no redaction)', process.execPath, [bundle, 'plain']],
      ['redactor (3 secrets)', process.execPath, [bundle, 'redact', JSON.stringify(secrets.slice(0, 3))]],
    ] as Array<[string, string, string[]]>) {
      const best = Math.min(await timeRun(cmd, args, input), await timeRun(cmd, args, input));
      results.push([name, rate(best)]);
    }
    const cat = results[0]![1];
    const plain = results[1]![1];
    console.log(`input: ${MB} MiB of log-like lines, best of 2 runs, stdin from the file, stdout to /dev/null`);
    for (const [name, r] of results) {
      console.log(`${name.padEnd(28)} ${r.toFixed(0).padStart(7)} MB/s   ${(r / cat).toFixed(3)}x cat   ${(r / plain).toFixed(2)}x node pipe`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
