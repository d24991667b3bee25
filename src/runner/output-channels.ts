// The job's stdout and stderr as sockets we read into one reused buffer each, instead of spawn's 'pipe' streams.

import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { listenOnPath } from '../core/listen-path.js';

/** One output stream of the job: chunks go to onChunk; the socket is there to pause, resume and destroy. */
export interface OutputSource {
  socket: Readable;
  /** Called with each chunk; a chunk may be a view of a buffer reused for the next read: consume it before returning. */
  onChunk: (chunk: Buffer) => void;
}

export interface OutputChannels {
  /** The job's ends, for spawn's stdio[1] and stdio[2]; close them (closeChildEnds) once the job is spawned. */
  stdio: [Socket, Socket];
  out: OutputSource;
  err: OutputSource;
  closeChildEnds(): void;
}

/**
 * Bytes per read. Node's stream for a spawn 'pipe' reads 64 KiB into a fresh buffer every time, and the allocation,
 * the stream machinery and the cache misses on new memory made reading the job cost more than everything else the
 * run stage does per byte. Here each stream reads into one buffer, reused (the socket's `onread` option). 64 KiB,
 * a pipe's capacity: larger reads made each blocking write to the runner's pipe wait longer while the job and the
 * reader idled (measured slower through the sandbox, scripts/bench/stage-output.ts).
 */
const READ_SIZE = 64 * 1024;

/**
 * A connected pair of Unix stream sockets through a listening socket in the job's state directory (root-only, so
 * nobody else can connect in between): Node has no socketpair(), and only a socket it connects itself takes
 * `onread`. The job sees what it saw before (spawn's 'pipe' is a Unix socketpair too). Returns undefined when that fails (e.g. a state dir path too long for a socket address), and the caller
 * falls back to spawn's pipes.
 */
export async function openOutputChannels(stateDir: string): Promise<OutputChannels | undefined> {
  const path = join(stateDir, `out-${process.pid}.sock`);
  const server = createServer({ pauseOnConnect: true });
  try {
    await listenOnPath(server, path);
    const out = await connectOne(server, path);
    const err = await connectOne(server, path);
    return {
      stdio: [out.theirs, err.theirs],
      out: out.source,
      err: err.source,
      closeChildEnds: () => {
        out.theirs.destroy();
        err.theirs.destroy();
      },
    };
  } catch {
    return undefined;
  } finally {
    server.close();
  }
}

/** Connects one reader and takes its accepted peer (one connection at a time, so the pairing is certain). */
async function connectOne(server: ReturnType<typeof createServer>, path: string): Promise<{ theirs: Socket; source: OutputSource }> {
  const buffer = Buffer.allocUnsafe(READ_SIZE);
  const source: OutputSource = { socket: undefined as unknown as Readable, onChunk: () => undefined };
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const ours = createConnection({
    path,
    onread: {
      buffer,
      callback: (n: number, buf: Uint8Array) => {
        source.onChunk((buf as Buffer).subarray(0, n));
        return true;
      },
    },
  });
  source.socket = ours;
  await new Promise<void>((resolve, reject) => {
    ours.once('connect', resolve);
    ours.once('error', reject);
  });
  const theirs = await accepted;
  return { theirs, source };
}

/** The same source over a spawn 'pipe' stream (the fallback). */
export function streamSource(stream: Readable): OutputSource {
  const source: OutputSource = { socket: stream, onChunk: () => undefined };
  stream.on('data', (chunk: Buffer) => source.onChunk(chunk));
  return source;
}
