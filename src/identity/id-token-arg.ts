// `explain --id-token`: the token itself, a file holding it, or "-" for stdin; messages never echo the argument.

import { readFile } from 'node:fs/promises';
import { SystemFailure } from '../core/exit-codes.js';

/** Three base64url segments, the first a JSON header ("eyJ" = '{"'): what an ID token looks like. */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
/** Longer than this is no path a person types; it is a (mangled) token. */
const MAX_PATH = 1024;

export async function readIdTokenArg(arg: string, stdin: () => Promise<string> = readStdin): Promise<string> {
  const value = arg.trim();
  if (JWT_SHAPE.test(value)) return value;
  if (value === '-') return (await stdin()).trim();
  if (value === '' || value.length > MAX_PATH || value.includes('\n')) {
    throw new SystemFailure(
      '--id-token: expected the ID token itself (three base64url parts separated by dots), a file holding it, or "-" to read it from stdin; the value given is none of these (not shown: it may be a token)',
    );
  }
  try {
    return (await readFile(value, 'utf8')).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new SystemFailure(
      `--id-token: not an ID token, and no readable file by that name (${code}); pass the token itself, a file holding it, or "-" for stdin (the value is not shown: it may be a token)`,
      { cause: err },
    );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
