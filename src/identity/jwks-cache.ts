// The on-disk JWKS cache: a 0600 file in a 0700 directory, written atomically, never through a symlink.

import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SystemFailure } from '../core/exit-codes.js';
import { normaliseIssuer } from './issuer.js';
import { parseJwks, type JSONWebKeySet } from './jwks-source.js';

export interface JwksCacheEntry {
  issuer: string;
  jwksUri: string;
  /** Milliseconds since the epoch. */
  fetchedAt: number;
  jwks: JSONWebKeySet;
}

const MAX_CACHE = 1024 * 1024;

function myUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** The cache's directory must be ours alone: created 0700, or an existing real directory nobody else can write. */
async function ensureCacheDir(path: string): Promise<void> {
  const dir = dirname(path);
  let st;
  try {
    st = await lstat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SystemFailure(`Cannot inspect the JWKS cache directory ${dir}.`, { cause: err });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    st = await lstat(dir);
  }
  const uid = myUid();
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new SystemFailure(`The JWKS cache directory ${dir} is a symlink or not a directory; refusing to use it.`);
  }
  if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new SystemFailure(
      `The JWKS cache directory ${dir} is writable by another user (owner ${st.uid}, mode ` +
        `${(st.mode & 0o777).toString(8)}); anyone who can write there could plant signing keys. Make it 0700 and owned by the driver's user.`,
    );
  }
}

/** Reads the cache; undefined when absent. An untrustworthy or broken file is reported via warn and ignored. */
export async function readJwksCache(path: string, issuer: string, warn: (msg: string) => void): Promise<JwksCacheEntry | undefined> {
  await ensureCacheDir(path);
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    warn(code === 'ELOOP' ? `JWKS cache ${path} is a symlink; ignoring it.` : `Cannot open JWKS cache ${path} (${code ?? 'error'}); ignoring it.`);
    return undefined;
  }
  try {
    const st = await fh.stat();
    const uid = myUid();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0 || st.size > MAX_CACHE) {
      warn(`JWKS cache ${path} is not a private regular file of the driver's user; ignoring it.`);
      return undefined;
    }
    const doc = JSON.parse(await fh.readFile('utf8')) as Partial<JwksCacheEntry>;
    const parsed = parseJwks(doc.jwks);
    if (
      typeof doc.issuer !== 'string' ||
      normaliseIssuer(doc.issuer) !== normaliseIssuer(issuer) ||
      typeof doc.fetchedAt !== 'number' ||
      typeof doc.jwksUri !== 'string' ||
      'error' in parsed
    ) {
      warn(`JWKS cache ${path} is for another issuer or damaged; ignoring it.`);
      return undefined;
    }
    return { issuer: doc.issuer, jwksUri: doc.jwksUri, fetchedAt: doc.fetchedAt, jwks: parsed.jwks };
  } catch (err) {
    warn(`JWKS cache ${path} cannot be read (${(err as Error).message}); ignoring it.`);
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Writes the cache atomically: a fresh 0600 temp file (O_EXCL|O_NOFOLLOW) in the same directory, then rename. */
export async function writeJwksCache(path: string, entry: JwksCacheEntry): Promise<void> {
  await ensureCacheDir(path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      await fh.chmod(0o600);
      await fh.writeFile(JSON.stringify(entry), 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
