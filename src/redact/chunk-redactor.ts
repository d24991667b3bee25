// Synchronous streaming redaction: chunks in, redacted pieces out through a callback, with the held-back tail
// (a possible secret's start) joined to the next chunk or written after a short silence.

import type { SecretMatcher } from './matcher.js';

/** Bytes of a new chunk joined to the held tail (plus twice the longest exact value): enough to settle the seam. */
const SEAM = 256;
const EMPTY = Buffer.alloc(0);

/**
 * Feeds one output stream's chunks through a matcher. `emit` gets the redacted pieces of each call at once (views
 * of the chunk where nothing was masked, so a caller can writev them uncopied); it is also called from the idle
 * timer with the held tail. A caller that reuses its chunk buffers must consume the pieces inside `emit`.
 */
export class ChunkRedactor {
  private held: Buffer = EMPTY;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly matcher: SecretMatcher,
    private readonly idleMs: number,
    private readonly emit: (pieces: Buffer[]) => void,
  ) {}

  /** Redacts chunk (after whatever is held) and emits what is settled; holds back a tail that could begin a secret. */
  write(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    const pieces: Buffer[] = [];
    let data = chunk;
    const held = this.held;
    if (held.length > 0) {
      // Join the held tail to only the start of the chunk; once the seam is settled there, the rest of the chunk
      // is redacted in place (a view), not copied.
      const cut = Math.min(chunk.length, SEAM + 2 * this.matcher.index.maxExactLength);
      const seam = Buffer.concat([held, chunk.subarray(0, cut)]);
      const k = this.step(seam, pieces);
      if (cut < chunk.length) data = k >= held.length ? chunk.subarray(k - held.length) : Buffer.concat([seam.subarray(k), chunk.subarray(cut)]);
      else {
        data = EMPTY;
        this.held = k < seam.length ? Buffer.from(seam.subarray(k)) : EMPTY;
      }
    }
    if (data.length > 0) {
      const k = this.step(data, pieces);
      this.held = k < data.length ? Buffer.from(data.subarray(k)) : EMPTY;
    }
    if (pieces.length > 0) this.emit(pieces);
    this.armTimer();
  }

  /** Emits the held tail (redacted as final) and stops the idle timer; later writes are ignored. */
  end(): void {
    if (this.ended) return;
    this.flushHeld();
    this.dispose();
  }

  /** Drops the held tail unwritten and stops the idle timer. */
  dispose(): void {
    this.ended = true;
    this.held = EMPTY;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private step(data: Buffer, pieces: Buffer[]): number {
    const { parts, keepFrom } = this.matcher.redact(data, false);
    for (const p of parts) pieces.push(p);
    return keepFrom;
  }

  private flushHeld(): void {
    if (this.held.length === 0) return;
    const { parts } = this.matcher.redact(this.held, true);
    this.held = EMPTY;
    if (parts.length > 0) this.emit(parts);
  }

  private armTimer(): void {
    if (this.held.length > 0) {
      if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.flushHeld();
        }, this.idleMs);
        this.timer.unref();
      } else this.timer.refresh();
    } else if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
