// The job-output redactor the run stage uses: masks registered secrets (also added mid-stream, split across
// chunks or folded over lines) and anything shaped like an AWS access key id or session token.

import { ChunkRedactor } from './chunk-redactor.js';
import { SecretMatcher } from './matcher.js';

export interface RedactorOptions {
  secrets?: Iterable<string>;
  /** Replaces each masked value; default '[MASKED]'. */
  mask?: string;
  /** A held-back tail is written after this much silence, so an interactive prompt is not delayed. Default 25 ms. */
  idleFlushMs?: number;
}

/** The synchronous form: write() emits redacted pieces through the callback (see ChunkRedactor). */
export interface SyncRedactor {
  chunks: ChunkRedactor;
  addSecret(value: string): void;
}

const DEFAULT_MASK = '[MASKED]';
const DEFAULT_IDLE_FLUSH_MS = 25;

function newMatcher(opts: RedactorOptions): SecretMatcher {
  const matcher = new SecretMatcher(Buffer.from(opts.mask ?? DEFAULT_MASK, 'utf8'));
  for (const s of opts.secrets ?? []) matcher.index.add(s);
  return matcher;
}

export function createSyncRedactor(opts: RedactorOptions, emit: (pieces: Buffer[]) => void): SyncRedactor {
  const matcher = newMatcher(opts);
  return { chunks: new ChunkRedactor(matcher, opts.idleFlushMs ?? DEFAULT_IDLE_FLUSH_MS, emit), addSecret: (value) => matcher.index.add(value) };
}
