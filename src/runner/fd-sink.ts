// Writes a stage's output to one of our own file descriptors (1 or 2) with plain write(2)s, as cat would.

import { writevSync } from 'node:fs';

const EMPTY = Buffer.alloc(0);

/**
 * Why not process.stdout: for a pipe (how gitlab-runner reads us) Node makes it a non-blocking libuv stream, and
 * every chunk then costs a stream write, an EAGAIN and an epoll round trip whenever the reader lags — about half
 * of the run stage's CPU. The runner hands us a blocking pipe, so writev(2) simply waits for the reader, like
 * `bash | cat` does. Should the fd be non-blocking after all (EAGAIN), the rest goes through the Node stream
 * (`fallback`) and the caller is told to pause its source until that drains; sync writes resume once it is empty.
 * While a blocking write waits for a slow reader, our event loop waits too (timers, the secret feed, SIGTERM
 * forwarding to a sandboxed job); gitlab-runner keeps reading while it cancels a job, so that is a pipe's worth
 * of output, and the job meanwhile blocks on its own full output as it would under `| cat`.
 */
export class FdSink {
  private stream: (NodeJS.WritableStream & { writableLength: number }) | undefined;
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly fallback: () => NodeJS.WritableStream & { writableLength: number },
  ) {}

  /** Writes every piece, in order; returns false when the caller should wait for onDrain before writing more. */
  write(pieces: Buffer[]): boolean {
    if (this.closed) return true;
    if (this.stream !== undefined && this.stream.writableLength > 0) return this.queue(pieces, 0, 0);
    let i = 0;
    let skip = 0;
    while (i < pieces.length) {
      let n: number;
      try {
        n = writevSync(this.fd, skip === 0 ? pieces.slice(i) : [pieces[i]!.subarray(skip), ...pieces.slice(i + 1)]);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return this.queue(pieces, i, skip);
        if (code === 'EINTR') continue;
        // EPIPE and the like: the reader is gone. Keep draining the job (it must not block on a full pipe), drop the output.
        this.closed = true;
        return true;
      }
      n += skip;
      skip = 0;
      while (i < pieces.length && n >= pieces[i]!.length) n -= pieces[i++]!.length;
      skip = n;
    }
    return true;
  }

  /** Calls cb once everything queued is written, or the reader is gone (at once when nothing is queued). */
  onDrain(cb: () => void): void {
    if (this.stream === undefined || this.stream.writableLength === 0 || this.closed) cb();
    else this.stream.write(EMPTY, () => cb());
  }

  private queue(pieces: Buffer[], i: number, skip: number): boolean {
    if (this.stream === undefined) {
      this.stream = this.fallback();
      this.stream.on('error', () => {
        this.closed = true;
      });
    }
    // Copies: a piece may be a view of a read buffer the source reuses once this call returns.
    let ok = true;
    for (let k = i; k < pieces.length; k++) ok = this.stream.write(Buffer.from(k === i && skip > 0 ? pieces[k]!.subarray(skip) : pieces[k]!)) && ok;
    return ok;
  }
}
