// Redacts one buffer: finds secrets and secret-shaped values, and decides how much of the tail to hold back.

import { RUN_BYTE } from './byte-classes.js';
import { applyMasks, mergeRanges } from './mask-ranges.js';
import { runStartBefore, scanRuns } from './run-scanner.js';
import { SecretIndex } from './secret-index.js';
import { findKeyIds, isTokenShaped } from './shapes.js';

/** A run longer than this is not held back whole (no secret is this long); it is processed as it stands. */
const MAX_HOLD = 64 * 1024;

export interface RedactResult {
  /** The redacted bytes of data[0, keepFrom). */
  out: Buffer;
  /** data[keepFrom, end) could be the start of a secret: the caller prepends it to the next chunk. */
  keepFrom: number;
}

export class SecretMatcher {
  readonly index = new SecretIndex();

  constructor(private readonly mask: Buffer) {}

  /** Redacts data; with final = false it holds back the shortest tail that could begin a secret. */
  redact(data: Buffer, final: boolean): RedactResult {
    const exact: number[] = [];
    if (this.index.exact.length > 0) this.index.findExact(data, exact);
    const keepFrom = final ? data.length : this.holdPoint(data, exact);

    const ranges: number[] = [];
    for (let i = 0; i + 1 < exact.length; i += 2) if (exact[i + 1]! <= keepFrom) ranges.push(exact[i]!, exact[i + 1]!);
    const useGrams = this.index.hasGrams;
    // Key ids start with 'A': a native memchr cursor over the chunk skips runs without one (most of them).
    let nextA = -2;
    scanRuns(data, 0, keepFrom, (s, e) => {
      if (isTokenShaped(data, s, e)) {
        ranges.push(s, e);
        return;
      }
      if (e - s >= 20 && nextA !== -1) {
        if (nextA < s) nextA = data.indexOf(0x41, s);
        if (nextA !== -1 && nextA < e) findKeyIds(data, nextA, e, ranges);
      }
      if (useGrams) this.index.findPieces(data, s, e, ranges);
    });
    const merged = ranges.length === 0 ? ranges : mergeRanges(ranges);
    return { out: applyMasks(data, keepFrom, merged, this.mask), keepFrom };
  }

  /** Where the held-back tail starts: the trailing run, and enough bytes for any exact value to complete. */
  private holdPoint(data: Buffer, exact: number[]): number {
    const len = data.length;
    let hold = runStartBefore(data, len, MAX_HOLD);
    const needed = this.index.maxExactLength - 1;
    if (needed > 0 && len - needed < hold) hold = this.backToRunStart(data, Math.max(0, len - needed));
    // An exact occurrence that straddles the hold point stays whole in the held tail.
    for (let changed = true; changed; ) {
      changed = false;
      for (let i = 0; i + 1 < exact.length; i += 2) {
        if (exact[i]! < hold && exact[i + 1]! > hold) {
          hold = this.backToRunStart(data, exact[i]!);
          changed = true;
        }
      }
    }
    return hold;
  }

  private backToRunStart(data: Buffer, pos: number): number {
    if (pos > 0 && RUN_BYTE[data[pos]!] === 1 && RUN_BYTE[data[pos - 1]!] === 1) return runStartBefore(data, pos, MAX_HOLD);
    return pos;
  }
}
