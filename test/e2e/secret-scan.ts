// Finds files that hold a secret: the after-cleanup check of every end-to-end test that issues credentials.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Regular files under `roots` (not following links) whose content holds any of `secrets`. */
export async function filesHolding(roots: string[], secrets: string[], maxBytes = 8 * 1024 * 1024): Promise<string[]> {
  const hits: string[] = [];
  const needles = secrets.filter((s) => s.length >= 8).map((s) => Buffer.from(s));
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await stat(p).catch(() => undefined);
        if (st === undefined || st.size > maxBytes) continue;
        const data = await readFile(p).catch(() => undefined);
        if (data !== undefined && needles.some((n) => data.includes(n))) hits.push(p);
      }
    }
  };
  for (const r of roots) await walk(r);
  return hits;
}
