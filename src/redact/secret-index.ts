// The registered secrets: a 16-byte-gram index for finding pieces of base64 secrets inside runs, and the values
// searched for exactly (secrets with other bytes, and short ones); both are found through sampled word probes.

import { MIN_RUN, RUN_BYTE } from './byte-classes.js';
import { hashA, hashB, PROBE_COVER } from './probe.js';

/** Secrets shorter than this are ignored: masking a 3-letter value would shred the log and protect nothing. */
const MIN_SECRET_LENGTH = 8;

/**
 * Base64 secrets at least this long are found through the gram index alone: looking up the grams at run
 * offsets 0, 16, 32, ... and the last 16 bytes finds every piece of >= 31 bytes anywhere in a run, and every
 * piece >= 16 bytes that starts or ends a run (a line of `fold` output, the head or tail of a token).
 * Shorter secrets are also searched exactly.
 */
const INDEX_ONLY_MIN = 2 * MIN_RUN - 1;

interface GramHit {
  secret: Uint8Array;
  offset: number;
}

/** What a 4-byte word of a registered value leads to: pieces of indexed secrets, and exact values holding it. */
interface WordHit {
  piece: boolean;
  exact: Array<{ value: Buffer; offset: number }>;
}

/** Cheap pre-filter on a gram's first 4 bytes (a 64 Ki-bit table) before the full 16-byte hash and map lookup. */
function quick4(b: Uint8Array, p: number): number {
  return Math.imul(b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24), 0x9e3779b1) >>> 16;
}

function word(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

function hash16(b: Uint8Array, p: number): number {
  let h = 0x811c9dc5;
  for (let i = p; i < p + MIN_RUN; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function isRunBody(bytes: Uint8Array, end: number): boolean {
  for (let i = 0; i < end; i++) if (RUN_BYTE[bytes[i]!] === 0) return false;
  return true;
}

export class SecretIndex {
  private readonly seen = new Set<string>();
  private readonly grams = new Map<number, GramHit[]>();
  private readonly quick = new Uint8Array(1 << 16);
  private readonly words = new Map<number, WordHit>();
  /** Two-level filter over the 4-byte words of every value found through probes (see probe.ts). */
  readonly probeA = new Uint8Array(1 << 16);
  readonly probeB = new Uint8Array(1 << 16);
  /** Exact values too short for the probes: searched with Buffer.indexOf over the whole buffer. */
  readonly scanned: Buffer[] = [];
  /** Length of the longest exact value (how much the stream must hold back for them). */
  maxExactLength = 0;

  add(value: string): void {
    if (value.length < MIN_SECRET_LENGTH || this.seen.has(value)) return;
    this.seen.add(value);
    const bytes = Buffer.from(value, 'utf8');
    // Base64 padding is not part of a run: index the body, mask the body.
    let body = bytes.length;
    while (body > 0 && bytes[body - 1] === 0x3d /* = */) body--;
    const indexed = body >= MIN_RUN && isRunBody(bytes, body);
    if (indexed) {
      const secret = bytes.subarray(0, body);
      for (let o = 0; o + MIN_RUN <= body; o++) {
        this.quick[quick4(secret, o)] = 1;
        const h = hash16(secret, o);
        const list = this.grams.get(h);
        if (list === undefined) this.grams.set(h, [{ secret, offset: o }]);
        else list.push({ secret, offset: o });
      }
      for (let o = 0; o + 4 <= body; o++) this.wordHit(word(secret, o)).piece = true;
    }
    if (!indexed || body < INDEX_ONLY_MIN) {
      if (bytes.length >= PROBE_COVER) for (let o = 0; o + 4 <= bytes.length; o++) this.wordHit(word(bytes, o)).exact.push({ value: bytes, offset: o });
      else this.scanned.push(bytes);
      this.maxExactLength = Math.max(this.maxExactLength, bytes.length);
    }
  }

  private wordHit(w: number): WordHit {
    let hit = this.words.get(w);
    if (hit === undefined) {
      hit = { piece: false, exact: [] };
      this.words.set(w, hit);
      this.probeA[hashA(w)] = 1;
      this.probeB[hashB(w)] = 1;
    }
    return hit;
  }

  /**
   * Resolves a probe hit at p: appends [start, end) of exact values through it to `exact`, and returns whether
   * the word there belongs to an indexed secret (then its run must be searched for pieces).
   */
  resolve(b: Uint8Array, p: number, exact: number[]): boolean {
    const hit = this.words.get(word(b, p));
    if (hit === undefined) return false;
    for (const { value, offset } of hit.exact) {
      const at = p - offset;
      if (at < 0 || at + value.length > b.length) continue;
      let i = 0;
      while (i < value.length && b[at + i] === value[i]) i++;
      if (i === value.length) exact.push(at, at + value.length);
    }
    return hit.piece;
  }

  /** Appends [start, end) of every piece (>= 16 bytes) of an indexed secret found in run [s, e). */
  findPieces(b: Uint8Array, s: number, e: number, out: number[]): void {
    const last = e - MIN_RUN;
    if (last < s) return;
    const quick = this.quick;
    // The last piece found: a gram inside it at the same alignment would only find it again (a whole token
    // printed in one run matches at every gram).
    let lastSecret: Uint8Array | undefined;
    let lastShift = 0;
    let lastEnd = 0;
    for (let p = s; ; p = Math.min(p + MIN_RUN, last)) {
      if (quick[quick4(b, p)] === 1) {
        const hits = this.grams.get(hash16(b, p));
        if (hits !== undefined) {
          for (const hit of hits) {
            if (hit.secret === lastSecret && p - hit.offset === lastShift && p + MIN_RUN <= lastEnd) continue;
            const end = this.extend(b, s, e, p, hit, out);
            if (end === 0) continue;
            lastSecret = hit.secret;
            lastShift = p - hit.offset;
            lastEnd = end;
          }
        }
      }
      if (p === last) break;
    }
  }

  /** Appends the piece of hit.secret through the gram at p, if the gram really matches; returns its end or 0. */
  private extend(b: Uint8Array, s: number, e: number, p: number, hit: GramHit, out: number[]): number {
    const { secret, offset } = hit;
    for (let i = 0; i < MIN_RUN; i++) if (b[p + i] !== secret[offset + i]) return 0;
    let left = 0;
    while (p - left - 1 >= s && offset - left - 1 >= 0 && b[p - left - 1] === secret[offset - left - 1]) left++;
    let right = MIN_RUN;
    while (p + right < e && offset + right < secret.length && b[p + right] === secret[offset + right]) right++;
    out.push(p - left, p + right);
    return p + right;
  }

  /** Appends [start, end) of every occurrence in data of the values too short for the probes. */
  findScanned(data: Buffer, out: number[]): void {
    for (const value of this.scanned) {
      let i = data.indexOf(value, 0);
      while (i !== -1) {
        out.push(i, i + value.length);
        i = data.indexOf(value, i + 1);
      }
    }
  }
}
