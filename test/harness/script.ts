// Writes a stage's generated bash script the way the runner does: a new <tmp>/scriptNNN/script, mode 0700.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { singleQuote } from './shell-escape.js';
import { makeNumberedDir } from './temp-dirs.js';

/** The runner's script wrapper around a stage body (custom-executor.md, "The generated script"). */
function renderScript(body: string): string {
  return [
    '#!/usr/bin/env bash',
    "trap 'exit 1' TERM",
    'set -o pipefail; set -o errexit; set +o noclobber',
    `(trap 'exit 1' TERM; eval ${singleQuote(body)}) < /dev/null`,
    'exit 0',
    '',
  ].join('\n');
}

/** A new directory per run call, as the runner's TempDir(tmp, "script"); returns the script's path. */
export async function writeStageScript(executorDir: string, body: string): Promise<string> {
  const dir = await makeNumberedDir(executorDir, 'script', 0o700);
  const file = join(dir, 'script');
  await writeFile(file, renderScript(body), { mode: 0o700, flag: 'wx' });
  await chmod(file, 0o700);
  return file;
}
