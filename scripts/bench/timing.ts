// Benchmark helpers: run commands interleaved (so machine noise hits every variant alike), report medians and ratios, time HTTP loads.

import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { RequestOptions } from 'node:https';

export interface Variant {
  name: string;
  run: () => void | Promise<void>;
}

export function command(cmd: string, args: string[], opts: SpawnSyncOptions = {}): () => void {
  return () => {
    const r = spawnSync(cmd, args, { stdio: 'ignore', ...opts });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Runs each variant `rounds` times, interleaved; returns median milliseconds per variant. */
export async function measure(variants: Variant[], rounds: number, warmup = 3): Promise<Map<string, number>> {
  for (let i = 0; i < warmup; i++) for (const v of variants) await v.run();
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < rounds; i++) {
    for (const v of variants) {
      const t0 = process.hrtime.bigint();
      await v.run();
      samples.get(v.name)?.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return new Map([...samples].map(([k, xs]) => [k, median(xs)]));
}

export function report(title: string, results: Map<string, number>, baseline: string): void {
  const base = results.get(baseline) ?? NaN;
  process.stdout.write(`\n${title}\n`);
  for (const [name, ms] of results) {
    process.stdout.write(`  ${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms   ${(ms / base).toFixed(2)}x ${baseline}\n`);
  }
}

/** Latencies (ms) of the requests answered 200, and how many were not. */
export interface Latencies {
  lat: number[];
  errors: number;
}

/** node:http's or node:https's request. */
export type Send = (options: RequestOptions, callback: (res: IncomingMessage) => void) => ClientRequest;

/** One request, timed to the end of its answer: recorded in `into` (its latency when 200, else an error). */
export function timedRequest(send: Send, options: RequestOptions, into: Latencies): Promise<void> {
  return new Promise((res) => {
    const t0 = process.hrtime.bigint();
    const req = send(options, (r) => {
      r.resume();
      r.on('end', () => {
        if (r.statusCode === 200) into.lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        else into.errors++;
        res();
      });
    });
    req.on('error', () => {
      into.errors++;
      res();
    });
    req.end();
  });
}

export interface LoadSummary {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Throughput (answers 200 per second over `seconds`) and latency percentiles of a load run. */
export function summarise(l: Latencies, seconds: number): LoadSummary {
  const sorted = [...l.lat].sort((a, b) => a - b);
  const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
  return { requests: sorted.length + l.errors, rps: sorted.length / seconds, p50: pct(0.5), p99: pct(0.99), errors: l.errors };
}
