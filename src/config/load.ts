// Finds, reads and validates config.toml; every problem becomes one SystemFailure line naming the file.

import { readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { SystemFailure } from '../core/exit-codes.js';
import { ConfigError } from './fields.js';
import { validateConfig } from './schema.js';
import type { JobroleConfig } from './types.js';

export const DEFAULT_CONFIG_PATH = '/etc/jobrole/config.toml';

/** --config, else $JOBROLE_CONFIG, else /etc/jobrole/config.toml. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env.JOBROLE_CONFIG;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_PATH;
}

/** Parses TOML text into a validated config; throws SystemFailure (no job runs on a broken config). */
export function parseConfigText(text: string, source: string): JobroleConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0] ?? err.message;
      throw new SystemFailure(`config ${source}: not valid TOML at line ${err.line}, column ${err.column}: ${first.replace(/^Invalid TOML document: /, '')}`, {
        cause: err,
      });
    }
    throw new SystemFailure(`config ${source}: not valid TOML: ${(err as Error).message}`, { cause: err });
  }
  try {
    return validateConfig(doc, source);
  } catch (err) {
    if (err instanceof ConfigError) throw new SystemFailure(`config ${source}: ${err.message}`, { cause: err });
    throw err;
  }
}

export async function loadConfig(path: string): Promise<JobroleConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${code ?? String(err)})`;
    throw new SystemFailure(`config ${path} ${why}: pass --config <path>, set JOBROLE_CONFIG, or create ${DEFAULT_CONFIG_PATH} (see config.example.toml)`, {
      cause: err,
    });
  }
  return parseConfigText(text, path);
}
