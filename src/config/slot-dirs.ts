// Where a slot's builds and cache directories are: <builds_dir>/slotN and <cache_dir>/slotN, named here only.

import { join } from 'node:path';
import type { JobroleConfig } from './types.js';

/** Slot `slot`'s directory under root (builds_dir or cache_dir). */
export function slotDir(root: string, slot: number): string {
  if (!Number.isInteger(slot) || slot < 1) throw new Error(`invalid slot ${String(slot)}`);
  return join(root, `slot${slot}`);
}

/** The slot's builds and cache directories, in that order. */
export function slotDirs(config: JobroleConfig, slot: number): [builds: string, cache: string] {
  return [slotDir(config.driver.builds_dir, slot), slotDir(config.driver.cache_dir, slot)];
}
