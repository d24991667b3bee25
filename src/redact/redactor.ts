// Streaming redactor for job output: masks registered secrets (also added mid-stream, split across chunks or
// folded over lines) and anything shaped like an AWS access key id or session token.

import { Transform, type TransformCallback } from 'node:stream';
import { SecretMatcher } from './matcher.js';

export interface RedactorOptions {
  secrets?: Iterable<string>;
  /** Replaces each masked value; default '[MASKED]'. */
  mask?: string;
  /** A held-back tail is written after this much silence, so an interactive prompt is not delayed. Default 25 ms. */
  idleFlushMs?: number;
}

export interface Redactor {
  /** Buffers in, redacted buffers out. */
  stream: Transform;
  addSecret(value: string): void;
  redactString(s: string): string;
}

export const DEFAULT_MASK = '[MASKED]';
const DEFAULT_IDLE_FLUSH_MS = 25;
/** Bytes of a new chunk joined to the held tail (plus twice the longest exact value): enough to settle the seam. */
const SEAM = 256;
/** Large buffers on both sides: a job's pipe delivers 64 KiB reads, and fewer, bigger steps cost less per byte. */
const HIGH_WATER_MARK = 1 << 20;
const EMPTY = Buffer.alloc(0);

export function createRedactor(opts: RedactorOptions = {}): Redactor {
  const matcher = new SecretMatcher(Buffer.from(opts.mask ?? DEFAULT_MASK, 'utf8'));
  for (const s of opts.secrets ?? []) matcher.index.add(s);
  const idleMs = opts.idleFlushMs ?? DEFAULT_IDLE_FLUSH_MS;

  let held: Buffer = EMPTY;
  let timer: NodeJS.Timeout | undefined;

  const flushHeld = (stream: Transform): void => {
    if (held.length === 0) return;
    const { out } = matcher.redact(held, true);
    held = EMPTY;
    if (out.length > 0) stream.push(out);
  };

  /** Redacts data (a chunk, or the held tail joined to the chunk's start), pushes the result, returns keepFrom. */
  const step = (stream: Transform, data: Buffer): number => {
    const { out, keepFrom } = matcher.redact(data, false);
    if (out.length > 0) stream.push(out);
    return keepFrom;
  };

  const stream = new Transform({
    readableHighWaterMark: HIGH_WATER_MARK,
    writableHighWaterMark: HIGH_WATER_MARK,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      let data = chunk;
      if (held.length > 0) {
        // Join the held tail to only the start of the chunk; once the seam is settled there, the rest of the
        // chunk is redacted in place (a view), not copied.
        const prev = held;
        const cut = Math.min(chunk.length, SEAM + 2 * matcher.index.maxExactLength);
        const seam = Buffer.concat([prev, chunk.subarray(0, cut)]);
        const k = step(this, seam);
        if (cut < chunk.length) data = k >= prev.length ? chunk.subarray(k - prev.length) : Buffer.concat([seam.subarray(k), chunk.subarray(cut)]);
        else {
          data = EMPTY;
          held = k < seam.length ? Buffer.from(seam.subarray(k)) : EMPTY;
        }
      }
      if (data.length > 0) {
        const k = step(this, data);
        held = k < data.length ? Buffer.from(data.subarray(k)) : EMPTY;
      }
      if (held.length > 0) {
        if (timer === undefined) {
          timer = setTimeout(() => flushHeld(stream), idleMs);
          timer.unref();
        } else timer.refresh();
      } else if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      cb();
    },
    flush(cb: TransformCallback) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      flushHeld(this);
      cb();
    },
    destroy(err: Error | null, cb: (error: Error | null) => void) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      held = EMPTY;
      cb(err);
    },
  });

  return {
    stream,
    addSecret: (value) => matcher.index.add(value),
    redactString: (s) => matcher.redact(Buffer.from(s, 'utf8'), true).out.toString('utf8'),
  };
}
