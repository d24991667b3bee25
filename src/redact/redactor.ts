// Streaming redactor for job output: masks registered secrets (also added mid-stream, split across chunks or
// folded over lines) and anything shaped like an AWS access key id or session token.

import { Transform, type TransformCallback } from 'node:stream';
import { ChunkRedactor } from './chunk-redactor.js';
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
  /** A plain function (no `this`): callers may pass it on. */
  addSecret: (value: string) => void;
  redactString(s: string): string;
}

/** The synchronous form: write() emits redacted pieces through the callback (see ChunkRedactor). */
export interface SyncRedactor {
  chunks: ChunkRedactor;
  addSecret(value: string): void;
}

const DEFAULT_MASK = '[MASKED]';
const DEFAULT_IDLE_FLUSH_MS = 25;
/** Large buffers on both sides: a job's pipe delivers 64 KiB reads, and fewer, bigger steps cost less per byte. */
const HIGH_WATER_MARK = 1 << 20;

function newMatcher(opts: RedactorOptions): SecretMatcher {
  const matcher = new SecretMatcher(Buffer.from(opts.mask ?? DEFAULT_MASK, 'utf8'));
  for (const s of opts.secrets ?? []) matcher.index.add(s);
  return matcher;
}

export function createSyncRedactor(opts: RedactorOptions, emit: (pieces: Buffer[]) => void): SyncRedactor {
  const matcher = newMatcher(opts);
  return { chunks: new ChunkRedactor(matcher, opts.idleFlushMs ?? DEFAULT_IDLE_FLUSH_MS, emit), addSecret: (value) => matcher.index.add(value) };
}

export function createRedactor(opts: RedactorOptions = {}): Redactor {
  const matcher = newMatcher(opts);
  let target: Transform | undefined;
  const chunks = new ChunkRedactor(matcher, opts.idleFlushMs ?? DEFAULT_IDLE_FLUSH_MS, (pieces) => {
    for (const p of pieces) target?.push(p);
  });
  const stream = new Transform({
    readableHighWaterMark: HIGH_WATER_MARK,
    writableHighWaterMark: HIGH_WATER_MARK,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      chunks.write(chunk);
      cb();
    },
    flush(cb: TransformCallback) {
      chunks.end();
      cb();
    },
    destroy(err: Error | null, cb: (error: Error | null) => void) {
      chunks.dispose();
      cb(err);
    },
  });
  target = stream;

  return {
    stream,
    addSecret: (value) => matcher.index.add(value),
    redactString: (s) => Buffer.concat(matcher.redact(Buffer.from(s, 'utf8'), true).parts).toString('utf8'),
  };
}
