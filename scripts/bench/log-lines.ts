// Log-like benchmark input: varied build-log lines with a secret (known or only shaped like one) now and then.

import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
}

/** ~16 MiB of varied log lines; a secret (known or shaped) about once every 5,000 lines. */
export function logBlock(secrets: string[]): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 16 * 1024 * 1024; i++) {
    let line: string;
    switch (i % 8) {
      case 0:
        line = `[${i}/99999] gcc -O2 -Wall -Iinclude -c src/module_${i % 997}/parser.c -o build/module_${i % 997}/parser.o`;
        break;
      case 1:
        line = `commit ${hex(40)} Merge branch 'feature/login-${i % 31}' into 'main'`;
        break;
      case 2:
        line = `  ok ${i} - parses quoted strings with escapes (${(i % 17) / 10}ms)`;
        break;
      case 3:
        line = `npm WARN deprecated glob@7.2.${i % 9}: Glob versions prior to v9 are no longer supported`;
        break;
      case 4:
        line = `    at Object.<anonymous> (/builds/group/project/node_modules/jest-circus/build/utils.js:${i % 400}:17)`;
        break;
      case 5:
        line = `Step ${i % 40}/40 : RUN apt-get install -y --no-install-recommends libssl-dev  ---> ${hex(12)}`;
        break;
      case 6:
        line = `Downloading https://registry.example.com/pkg/-/pkg-${i % 50}.${i % 7}.0.tgz (${i % 900} kB)`;
        break;
      default:
        line = `PASS src/__tests__/component_${i % 300}.test.tsx (${(i % 50) / 10} s) sha256:${hex(64)}`;
    }
    if (i % 5000 === 4999) line = `debug: using ${secrets[((i / 5000) % secrets.length) | 0]!}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n');
}

/** Writes `mb` MiB of repeated `block` to `path`. */
export function writeLog(path: string, block: Buffer, mb: number): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    let written = 0;
    while (written < mb * 1024 * 1024) written += writeSync(fd, block, 0, Math.min(block.length, mb * 1024 * 1024 - written));
  } finally {
    closeSync(fd);
  }
}
