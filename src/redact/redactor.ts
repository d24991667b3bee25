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

export function createRedactor(opts: RedactorOptions = {}): Redactor {
  const matcher = new SecretMatcher(Buffer.from(opts.mask ?? DEFAULT_MASK, 'utf8'));
  for (const s of opts.secrets ?? []) matcher.index.add(s);
  const idleMs = opts.idleFlushMs ?? DEFAULT_IDLE_FLUSH_MS;

  let held: Buffer = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;

  const flushHeld = (stream: Transform): void => {
    if (held.length === 0) return;
    const { out } = matcher.redact(held, true);
    held = Buffer.alloc(0);
    if (out.length > 0) stream.push(out);
  };

  const stream = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const data = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
      const { out, keepFrom } = matcher.redact(data, false);
      held = keepFrom < data.length ? Buffer.from(data.subarray(keepFrom)) : Buffer.alloc(0);
      if (out.length > 0) this.push(out);
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
      held = Buffer.alloc(0);
      cb(err);
    },
  });

  return {
    stream,
    addSecret: (value) => matcher.index.add(value),
    redactString: (s) => matcher.redact(Buffer.from(s, 'utf8'), true).out.toString('utf8'),
  };
}
