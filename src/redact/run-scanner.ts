// Finds where the run of base64-alphabet bytes around a position starts (for the held-back tail of a chunk).

import { RUN_BYTE } from './byte-classes.js';

/** Start of the run of RUN_BYTE bytes that contains (or ends just before) `pos`, looking back at most `cap` bytes. */
export function runStartBefore(b: Uint8Array, pos: number, cap: number): number {
  let t = pos;
  const limit = Math.max(0, pos - cap);
  while (t > limit && RUN_BYTE[b[t - 1]!] === 1) t--;
  return t === 0 || RUN_BYTE[b[t - 1]!] === 0 ? t : pos;
}
