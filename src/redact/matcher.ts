// Redacts one buffer: finds secrets and secret-shaped values, and decides how much of the tail to hold back.

import { MIN_RUN, RUN_BYTE } from './byte-classes.js';
import { applyMasks, mergeRanges } from './mask-ranges.js';
import { scanWords } from './probe.js';
import { runStartBefore } from './run-scanner.js';
import { SecretIndex } from './secret-index.js';
import { findKeyIds, isTokenShaped, TOKEN_MIN_LENGTH } from './shapes.js';

/** A run longer than this is not held back whole (no secret is this long); it is processed as it stands. */
const MAX_HOLD = 64 * 1024;

export interface RedactResult {
  /** The redacted bytes of data[0, keepFrom) as pieces in order: views of data and the mask, never a copy. */
  parts: Buffer[];
  /** data[keepFrom, end) could be the start of a secret: the caller prepends it to the next chunk. */
  keepFrom: number;
}

/**
 * The common chunk holds no secret: then only sampled words (one in three, see probe.ts) and the 'A' bytes
 * (native memchr, for key ids) are looked at, and data is passed through uncopied.
 */
export class SecretMatcher {
  readonly index = new SecretIndex();

  constructor(private readonly mask: Buffer) {}

  /** Redacts data; with final = false it holds back the shortest tail that could begin a secret. */
  redact(data: Buffer, final: boolean): RedactResult {
    const index = this.index;
    const exact: number[] = [];
    if (index.scanned.length > 0) index.findScanned(data, exact);
    const hits: number[] = [];
    const longRuns: number[] = [];
    scanWords(data, index.probeA, index.probeB, TOKEN_MIN_LENGTH, hits, longRuns);
    const pieceAt: number[] = [];
    for (const p of hits) if (index.resolve(data, p, exact)) pieceAt.push(p);
    const keepFrom = final ? data.length : this.holdPoint(data, exact);

    const ranges: number[] = [];
    for (let i = 0; i + 1 < exact.length; i += 2) if (exact[i + 1]! <= keepFrom) ranges.push(exact[i]!, exact[i + 1]!);
    // A piece of an indexed secret holds a probe hit: search the run around each hit, as the gram index expects.
    let searchedTo = 0;
    for (const p of pieceAt) {
      if (p < searchedTo || p + 4 > keepFrom) continue;
      let s = p;
      while (s > 0 && RUN_BYTE[data[s - 1]!] === 1) s--;
      let e = p;
      while (e < keepFrom && RUN_BYTE[data[e]!] === 1) e++;
      searchedTo = Math.max(e, p + 1);
      if (e - s >= MIN_RUN) index.findPieces(data, s, e, ranges);
    }
    for (let i = 0; i + 1 < longRuns.length; i += 2) {
      const s = longRuns[i]!;
      const e = Math.min(longRuns[i + 1]!, keepFrom);
      if (isTokenShaped(data, s, e)) ranges.push(s, e);
    }
    findKeyIds(data, keepFrom, ranges);
    const merged = ranges.length === 0 ? ranges : mergeRanges(ranges);
    return { parts: applyMasks(data, keepFrom, merged, this.mask), keepFrom };
  }

  /** Where the held-back tail starts: the trailing run, and enough bytes for any exact value to complete. */
  private holdPoint(data: Buffer, exact: number[]): number {
    const len = data.length;
    let hold = runStartBefore(data, len, MAX_HOLD);
    const needed = this.index.maxExactLength - 1;
    if (needed > 0 && len - needed < hold) hold = this.backToRunStart(data, Math.max(0, len - needed));
    // An exact occurrence that straddles the hold point stays whole in the held tail.
    for (let changed = true; changed;) {
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
