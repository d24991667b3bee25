// Carries a stage's stdout and stderr from the job to our own fds 1 and 2 through a redactor each.

import { createSyncRedactor, type SyncRedactor } from '../redact/redactor.js';
import { FdSink } from './fd-sink.js';
import type { OutputSource } from './output-channels.js';

export interface StageOutput {
  /** Masks this value from now on in both streams (a secret the endpoint issued mid-stage). */
  addSecret(value: string): void;
  /**
   * Once the job has exited: waits up to graceMs for both streams to end (a background process of the job may
   * hold them open; it does not get to keep the stage open), then stops reading and writes what is held back.
   */
  settle(graceMs: number): Promise<void>;
}

export interface OutputSinks {
  out: FdSink;
  err: FdSink;
}

/** Longest wait, after the job's streams ended or were cut, for output queued on a non-blocking fd to be written. */
const FLUSH_WAIT_MS = 200;

function defaultSinks(): OutputSinks {
  return { out: new FdSink(1, () => process.stdout), err: new FdSink(2, () => process.stderr) };
}

interface Pump {
  redactor: SyncRedactor;
  /** Settles once the source ended (or was cut) and everything was handed to the sink. */
  ended: Promise<void>;
  cut(): void;
}

/**
 * One stream: each chunk the job's pipe delivers is redacted and written at once (no stream chain, no copy of
 * what needs no mask); while a non-blocking sink is behind, reading pauses, so the job feels the reader's pace.
 */
function pump(source: OutputSource, sink: FdSink, secrets: readonly string[]): Pump {
  const socket = source.socket;
  let paused = false;
  const redactor = createSyncRedactor({ secrets }, (pieces) => {
    if (!sink.write(pieces) && !paused) {
      paused = true;
      socket.pause();
      sink.onDrain(() => {
        paused = false;
        socket.resume();
      });
    }
  });
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let done = false;
  const end = (): void => {
    if (done) return;
    done = true;
    redactor.chunks.end();
    sink.onDrain(finish);
  };
  source.onChunk = (chunk) => redactor.chunks.write(chunk);
  socket.once('end', end);
  socket.once('close', end);
  socket.on('error', end);
  return {
    redactor,
    ended,
    cut: () => {
      socket.destroy();
      end();
    },
  };
}

export function pumpStageOutput(stdout: OutputSource, stderr: OutputSource, secrets: readonly string[], sinks: OutputSinks = defaultSinks()): StageOutput {
  const out = pump(stdout, sinks.out, secrets);
  const err = pump(stderr, sinks.err, secrets);
  const both = Promise.all([out.ended, err.ended]).then(() => undefined);
  const within = (ms: number): Promise<unknown> => Promise.race([both, new Promise((r) => setTimeout(r, ms).unref())]);
  return {
    addSecret: (value) => {
      out.redactor.addSecret(value);
      err.redactor.addSecret(value);
    },
    settle: async (graceMs) => {
      await within(graceMs);
      out.cut();
      err.cut();
      await within(FLUSH_WAIT_MS);
    },
  };
}
