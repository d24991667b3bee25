// Sampled scans over a buffer's aligned 32-bit words: where a secret piece or a long base64 run could be.

import { RUN_BYTE } from './byte-classes.js';

/**
 * Bytes between probed words. Any PROBE_COVER consecutive bytes hold one whole probed word, so every occurrence
 * of a registered value (or piece) at least that long is seen by a probe; most bytes are never read.
 */
const PROBE_STRIDE = 12;
export const PROBE_COVER = PROBE_STRIDE + 3;

/** Two independent 16-bit hashes of a 4-byte word (little-endian), for a two-level membership pre-filter. */
export function hashA(w: number): number {
  return Math.imul(w, 0x9e3779b1) >>> 16;
}
export function hashB(w: number): number {
  return Math.imul(w ^ (w >>> 13), 0x85ebca6b) >>> 16;
}

/** The aligned 32-bit words of b (signed, so V8 keeps the arithmetic in int32) and the offset in b of word 0. */
function wordsOf(b: Uint8Array): { words: Int32Array; base: number } {
  const base = (4 - (b.byteOffset & 3)) & 3;
  const n = b.length > base ? (b.length - base) >>> 2 : 0;
  return { words: new Int32Array(b.buffer, b.byteOffset + base, n), base };
}

/** Non-zero when some byte of w is below '+' (space, newline, quotes, brackets, ...): w cannot be inside a run. */
function belowPlus(w: number): number {
  return (((w - 0x2b2b2b2b) | 0) & ~w & 0x80808080) | 0;
}

/** Probed words in a row with no byte below '+' (the lowest base64 byte) before a long run is checked. */
const STREAK = 8;

/**
 * One pass over the probed words of b (one word in three):
 * - appends to `hits` (ascending) the offset of every probed word whose value passes both filter tables;
 * - appends to `runs` [start, end) of every maximal run of RUN_BYTE bytes at least `min` (>= 8 * 12 + 4) long.
 * Such a run holds 8 probed words in a row with no byte below '+' (an exact branch-free test on the whole word);
 * only where 8 in a row pass, and the words between them too, is the run around the last one measured byte by byte.
 */
export function scanWords(b: Uint8Array, tableA: Uint8Array, tableB: Uint8Array, min: number, hits: number[], runs: number[]): void {
  const { words, base } = wordsOf(b);
  const n = words.length;
  let streak = 0;
  for (let k = 0; k < n; k += 3) {
    const w = words[k]!;
    if (tableA[hashA(w)] === 1 && tableB[hashB(w)] === 1) hits.push(base + 4 * k);
    const out = belowPlus(w);
    streak = (streak + 1) & ~((out | (-out | 0)) >> 31);
    if (streak < STREAK) continue;
    // The run would also cover every word between the last 8 probes: look at those before any byte.
    let m = k - 1;
    while (m >= k - 3 * (STREAK - 1) && belowPlus(words[m]!) === 0) m--;
    if (m >= k - 3 * (STREAK - 1)) {
      streak = (((k - m - 1) / 3) | 0) + 1;
      continue;
    }
    const q = base + 4 * k;
    let s = q;
    while (s > 0 && RUN_BYTE[b[s - 1]!] === 1) s--;
    let e = q;
    while (e < b.length && RUN_BYTE[b[e]!] === 1) e++;
    if (e - s >= min) runs.push(s, e);
    // The probes still inside this run must not count; the next run starts counting from zero.
    streak = e - q >= 4 ? 0 - (((e - q - 4) / PROBE_STRIDE) | 0) : 0;
  }
}
