// The run stage's output path: job sockets read into reused buffers, redaction, fd writes (also the EAGAIN fallback),
// stream order, secrets learned mid-stage, and a background process that holds the output.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { FdSink } from '../../src/runner/fd-sink.js';
import { openOutputChannels, streamSource, type OutputChannels } from '../../src/runner/output-channels.js';
import { pumpStageOutput } from '../../src/runner/output-pump.js';

const SAK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-pump-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Files standing in for the runner's pipes; the sink never falls back (files take every write at once). */
function fileSinks(dir: string): { out: FdSink; err: FdSink; read: () => { out: string; err: string }; close: () => void } {
  const outFd = openSync(join(dir, 'out'), 'w');
  const errFd = openSync(join(dir, 'err'), 'w');
  const never = (): never => {
    throw new Error('a file sink never needs the stream fallback');
  };
  return {
    out: new FdSink(outFd, never),
    err: new FdSink(errFd, never),
    read: () => ({ out: readFileSync(join(dir, 'out'), 'utf8'), err: readFileSync(join(dir, 'err'), 'utf8') }),
    close: () => {
      closeSync(outFd);
      closeSync(errFd);
    },
  };
}

/** bash -c script with its stdout/stderr through the channels (or spawn pipes when channels is undefined). */
function runBash(script: string, channels: OutputChannels | undefined) {
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', channels?.stdio[0] ?? 'pipe', channels?.stdio[1] ?? 'pipe'] });
  channels?.closeChildEnds();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('output pump', () => {
  for (const mode of ['sockets', 'spawn pipes'] as const) {
    test(`${mode}: masks secrets split over writes and both streams, keeps each stream's order, passes everything else`, async () => {
      await withDir(async (dir) => {
        const channels = mode === 'sockets' ? await openOutputChannels(dir) : undefined;
        if (mode === 'sockets') assert.ok(channels, 'the channels open in a short directory');
        const sinks = fileSinks(dir);
        // A secret split over two writes (with a pause: the idle flush writes the first half, masked on its own), an
        // unregistered key id on stderr, and 20,000 numbered lines.
        const script = `printf 'k=${SAK.slice(0, 17)}'; sleep 0.05; printf '${SAK.slice(17)}\\n'; echo 'id AKIAIOSFODNN7EXAMPLE' >&2; seq 1 20000; echo err-end >&2`;
        const { child, exited } = runBash(script, channels);
        const output = pumpStageOutput(channels?.out ?? streamSource(child.stdout!), channels?.err ?? streamSource(child.stderr!), [SAK], sinks);
        assert.equal(await exited, 0);
        await output.settle(1500);
        const { out, err } = sinks.read();
        sinks.close();
        const lines = Array.from({ length: 20000 }, (_, i) => String(i + 1)).join('\n');
        assert.ok(out === `k=[MASKED][MASKED]\n${lines}\n`, `stdout starts ${JSON.stringify(out.slice(0, 60))}, ${out.length} bytes`);
        assert.equal(err, 'id [MASKED]\nerr-end\n');
        assert.deepEqual(
          readdirSync(dir).filter((n) => n.endsWith('.sock')),
          [],
          'the listening socket is gone',
        );
      });
    });
  }

  test('a secret learned mid-stage is masked from then on, also split over writes', async () => {
    await withDir(async (dir) => {
      const late = randomBytes(30).toString('base64');
      const channels = await openOutputChannels(dir);
      const sinks = fileSinks(dir);
      const { exited } = runBash(`sleep 0.3; printf 'late=${late.slice(0, 20)}'; sleep 0.05; printf '${late.slice(20)}\\n'`, channels);
      const output = pumpStageOutput(channels!.out, channels!.err, [], sinks);
      setTimeout(() => output.addSecret(late), 100);
      await exited;
      await output.settle(1500);
      assert.equal(sinks.read().out, 'late=[MASKED][MASKED]\n');
      sinks.close();
    });
  });

  test('a background process holding stdout does not keep the stage open past the grace time; what it wrote before is kept', async () => {
    await withDir(async (dir) => {
      const channels = await openOutputChannels(dir);
      const sinks = fileSinks(dir);
      const { exited } = runBash('echo before; (sleep 3; echo never) & echo started', channels);
      const output = pumpStageOutput(channels!.out, channels!.err, [], sinks);
      await exited;
      const t0 = Date.now();
      await output.settle(300);
      const waited = Date.now() - t0;
      assert.ok(waited >= 250 && waited < 1500, `settled after ${waited} ms`);
      assert.equal(sinks.read().out, 'before\nstarted\n');
      sinks.close();
    });
  });

  test('falls back to spawn pipes when no socket can be placed in the state directory', async () => {
    assert.equal(await openOutputChannels(join(tmpdir(), 'x'.repeat(120))), undefined);
    assert.equal(await openOutputChannels(join(tmpdir(), 'jobrole-missing-dir-' + process.pid)), undefined);
  });
});

describe('fd sink', () => {
  test('writes pieces in order to an fd, whole', async () => {
    await withDir(async (dir) => {
      const fd = openSync(join(dir, 'f'), 'w');
      const sink = new FdSink(fd, () => {
        throw new Error('no fallback for a file');
      });
      const data = randomBytes(3 << 20);
      const pieces: Buffer[] = [];
      for (let o = 0; o < data.length; o += 100_003) pieces.push(data.subarray(o, o + 100_003));
      assert.equal(sink.write(pieces), true);
      closeSync(fd);
      assert.equal(readFileSync(join(dir, 'f')).equals(data), true);
    });
  });

  test('on a non-blocking fd (EAGAIN) the rest goes through the stream in order, copied, and onDrain tells when it is written', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'f');
      // The reader starts late, so the socket fills and write(2) says EAGAIN.
      const cat = spawn('bash', ['-c', 'sleep 0.3; cat > "$1"', 'bash', file], { stdio: ['pipe', 'ignore', 'inherit'] });
      const stdin = cat.stdin as Socket & { _handle: { fd: number } };
      const sink = new FdSink(stdin._handle.fd, () => stdin);
      const data = randomBytes(8 << 20);
      const reused = Buffer.alloc(1 << 20);
      let ok = true;
      for (let o = 0; o < data.length; o += reused.length) {
        data.copy(reused, 0, o, o + reused.length);
        ok = sink.write([reused.subarray(0, 1000), reused.subarray(1000)]) && ok;
      }
      reused.fill(0); // the sink must have copied what it queued
      assert.equal(ok, false, 'the stream fallback was used and asked to wait');
      await new Promise<void>((resolve) => sink.onDrain(resolve));
      stdin.end();
      await new Promise((resolve) => cat.once('exit', resolve));
      assert.equal(readFileSync(file).equals(data), true);
    });
  });
});
