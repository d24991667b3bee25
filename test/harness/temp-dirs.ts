// Numbered temp directories like Go's os.MkdirTemp: <parent>/<prefix><digits>, created exclusively.
import { randomInt } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function makeNumberedDir(parent: string, prefix: string, mode = 0o700): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const dir = join(parent, `${prefix}${randomInt(1_000_000_000, 4_294_967_295)}`);
    try {
      await mkdir(dir, { mode });
      await chmod(dir, mode);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`could not create a unique ${prefix}NNN directory under ${parent}`);
}
