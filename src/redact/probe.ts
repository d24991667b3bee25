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

/** The aligned 32-bit words of b and the byte offset in b where word 0 starts. */
function wordsOf(b: Uint8Array): { words: Uint32Array; base: number } {
  const base = (4 - (b.byteOffset & 3)) & 3;
  const n = b.length > base ? (b.length - base) >>> 2 : 0;
  return { words: new Uint32Array(b.buffer, b.byteOffset + base, n), base };
}

/** Appends (ascending) byte offsets of probed words inside [0, to) whose value passes both filter tables. */
export function probeWords(b: Uint8Array, to: number, tableA: Uint8Array, tableB: Uint8Array, out: number[]): void {
  const { words, base } = wordsOf(b);
  const n = Math.min(words.length, (to - base) >> 2);
  for (let k = 0; k < n; k += 3) {
    const w = words[k]!;
    if (tableA[Math.imul(w, 0x9e3779b1) >>> 16] === 1 && tableB[hashB(w)] === 1) out.push(base + 4 * k);
  }
}

/** True when all 4 bytes of w are RUN_BYTE bytes. */
function allRun(w: number): boolean {
  return (RUN_BYTE[w & 0xff]! & RUN_BYTE[(w >>> 8) & 0xff]! & RUN_BYTE[(w >>> 16) & 0xff]! & RUN_BYTE[w >>> 24]!) === 1;
}

/**
 * Calls onRun(start, end) for each maximal run of RUN_BYTE bytes at least `min` (>= 2 * 48 + 4) long in [0, to).
 * Samples one word every 48 bytes: such a run holds two consecutive samples (and the three words between them),
 * so only spots where all five are run bytes (and one word further out) are expanded byte by byte.
 */
export function findLongRuns(b: Uint8Array, to: number, min: number, onRun: (start: number, end: number) => void): void {
  const { words, base } = wordsOf(b);
  const n = Math.min(words.length, (to - base) >> 2);
  let prev = false;
  for (let k = 0; k < n; k += 12) {
    const cur = allRun(words[k]!);
    if (!(cur && prev)) {
      prev = cur;
      continue;
    }
    prev = false;
    if (!allRun(words[k - 6]!) || !allRun(words[k - 3]!) || !allRun(words[k - 9]!)) continue;
    // The run holds [q - 48, q + 4) and 48 more bytes, so it reaches 24 further on one side or the other.
    if (!(k >= 18 && allRun(words[k - 18]!)) && !(k + 6 < n && allRun(words[k + 6]!))) continue;
    const q = base + 4 * k;
    let s = q;
    while (s > 0 && RUN_BYTE[b[s - 1]!] === 1) s--;
    let e = q;
    while (e < to && RUN_BYTE[b[e]!] === 1) e++;
    if (e - s >= min) onRun(s, e);
    // No other long run has a sample inside [s, e): go on from the first sample past e.
    k = Math.max(k, ((e - base) >> 2) - 12);
  }
}
