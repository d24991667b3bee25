// The on-disk cache of the central policy: the last parameter value that parsed and merged, with its fetch time.

import { join } from 'node:path';
import { ensurePrivateDir, readFileNoFollow, writeFileAtomic } from '../core/secure-fs.js';

const CENTRAL_CACHE_FILE = 'central-policy.json';

export interface CentralCacheEntry {
  parameter: string;
  /** Milliseconds since the epoch. */
  fetchedAt: number;
  version: number | undefined;
  /** The parameter's value (TOML). */
  text: string;
}

export function centralCachePath(cacheDir: string): string {
  return join(cacheDir, CENTRAL_CACHE_FILE);
}

/** The cached entry for this parameter, or undefined (none, another parameter's, or unreadable: then warned). */
export async function readCentralCache(cacheDir: string, parameter: string, warn: (msg: string) => void): Promise<CentralCacheEntry | undefined> {
  const path = centralCachePath(cacheDir);
  let raw: string;
  try {
    raw = await readFileNoFollow(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') warn(`central policy cache ${path} cannot be read (${code ?? String(err)}); ignoring it`);
    return undefined;
  }
  try {
    const v = JSON.parse(raw) as Partial<CentralCacheEntry>;
    if (typeof v.parameter !== 'string' || typeof v.fetchedAt !== 'number' || !Number.isFinite(v.fetchedAt) || typeof v.text !== 'string') {
      throw new Error('missing fields');
    }
    if (v.parameter !== parameter) return undefined;
    return { parameter: v.parameter, fetchedAt: v.fetchedAt, version: typeof v.version === 'number' ? v.version : undefined, text: v.text };
  } catch {
    warn(`central policy cache ${path} is damaged; ignoring it`);
    return undefined;
  }
}

/** Writes the entry atomically (file 0600, directory 0700). */
export async function writeCentralCache(cacheDir: string, entry: CentralCacheEntry): Promise<void> {
  await ensurePrivateDir(cacheDir, 0o700);
  await writeFileAtomic(centralCachePath(cacheDir), `${JSON.stringify(entry)}\n`, 0o600);
}
