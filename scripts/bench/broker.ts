// Benchmark: credentials-endpoint requests/s and p99 with 50 concurrent clients vs a bare node HTTP server,
// and the memory (VmRSS) of 16 concurrent broker processes with a few node flag variants.
// Run: npx tsx scripts/bench/broker.ts   (JOBROLE_BENCH_SECONDS: seconds per load run, default 5)

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { spawnBroker, type BrokerHandshake } from '../../src/broker/spawn.js';
import { stopBroker } from '../../src/core/process-identity.js';
import { summarise, timedRequest, type Latencies, type LoadSummary } from './timing.js';

const SECONDS = Number(process.env.JOBROLE_BENCH_SECONDS ?? '5');
const CLIENTS = 50;
const BROKERS = 16;
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'jobrole-bench-broker-'));
const TOKEN = randomBytes(32).toString('base64url');

function session(): BrokerHandshake['initial'] {
  return {
    accessKeyId: 'ASIA' + randomBytes(8).toString('hex').toUpperCase(),
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(600).toString('base64'),
    expiration: new Date(Date.now() + 3600_000).toISOString(),
    roleArn: 'arn:aws:iam::111122223333:role/bench',
    sessionName: 'bench',
  };
}

/** Bundles the broker child (fake source; optionally also loading the STS client, as a real source does). */
async function bundleChild(): Promise<string> {
  const contents =
    `import { runBrokerChild } from '../../src/broker/child.js';\n` +
    `await runBrokerChild({ stdin: process.stdin, stdout: process.stdout, makeSource: async (spec) => {\n` +
    `  if ((spec as { sts?: boolean }).sts) { const { STSClient } = await import('@aws-sdk/client-sts'); new STSClient({ region: 'us-east-1' }); }\n` +
    `  return async () => { throw new Error('bench source does not refresh'); };\n` +
    `} });\n`;
  const out = join(dir, 'child.mjs');
  await build({
    stdin: { contents, resolveDir: here, sourcefile: 'bench-broker-child.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return out;
}

function baselineServer(): Promise<{ port: number; stop: () => void }> {
  const body = JSON.stringify({ AccessKeyId: 'x', SecretAccessKey: 'y', Token: randomBytes(600).toString('base64'), Expiration: '2030-01-01T00:00:00Z' });
  const code = `const b=${JSON.stringify(body)};const s=require('http').createServer((q,r)=>{r.writeHead(200,{'content-type':'application/json','content-length':Buffer.byteLength(b)});r.end(b)});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res) => child.stdout.once('data', (d: Buffer) => res({ port: Number(d.toString()), stop: () => child.kill() })));
}

async function load(port: number, keepAlive: boolean): Promise<LoadSummary> {
  const agent = new Agent({ keepAlive, maxSockets: CLIENTS });
  const got: Latencies = { lat: [], errors: 0 };
  const end = Date.now() + SECONDS * 1000;
  const one = (): Promise<void> => timedRequest(request, { host: '127.0.0.1', port, path: '/creds', agent, headers: { authorization: TOKEN } }, got);
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  agent.destroy();
  return summarise(got, secs);
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function report(name: string, pids: number[]): void {
  const mb = (kb: number): string => (kb / 1024).toFixed(1);
  const rss = pids.map((p) => statusKb(p, 'VmRSS'));
  const anon = pids.map((p) => statusKb(p, 'RssAnon'));
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  console.log(
    `${name.padEnd(60)} VmRSS sum ${mb(sum(rss))} MB, per process ${mb(sum(rss) / rss.length)} MB (max ${mb(Math.max(...rss))}); ` +
      `private (RssAnon) per process ${mb(sum(anon) / anon.length)} MB`,
  );
}

async function startBroker(bundle: string, flags: string[], sts: boolean, i: number) {
  return spawnBroker({
    command: process.execPath,
    args: [...flags, bundle],
    handshake: {
      token: TOKEN,
      allowedUids: [process.getuid!()],
      deadline: new Date(Date.now() + 600_000).toISOString(),
      refreshBeforeSeconds: 900,
      initial: session(),
      feedSocketPath: join(dir, `feed-${i}.sock`),
      sourceSpec: { sts },
    },
  });
}

async function main(): Promise<void> {
  const bundle = await bundleChild();
  console.log(`load: ${CLIENTS} concurrent clients, ${SECONDS} s per run; server and clients in separate processes`);
  const base = await baselineServer();
  const broker = await startBroker(bundle, [], false, 0);
  for (const keepAlive of [true, false]) {
    const b = await load(base.port, keepAlive);
    const r = await load(broker.port, keepAlive);
    const mode = keepAlive ? 'keep-alive' : 'new connection per request';
    console.log(`[${mode}] bare node http: ${b.rps.toFixed(0)} req/s, p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms`);
    console.log(
      `[${mode}] broker (token, host, uid via /proc): ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, errors ${r.errors}  => ${(r.rps / b.rps).toFixed(2)}x req/s`,
    );
  }
  base.stop();
  await stopBroker(broker, { graceMs: 2000 });

  console.log(`memory: ${BROKERS} brokers at once, after 20 requests each (VmRSS counts the shared node binary in every process)`);
  const idle = Array.from({ length: BROKERS }, () => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
  await new Promise((r) => setTimeout(r, 500));
  report(
    'reference: idle `node -e` processes',
    idle.map((c) => c.pid!),
  );
  for (const c of idle) c.kill();
  const variants: Array<[string, string[], boolean]> = [
    ['default', [], false],
    ['default + STS client loaded', [], true],
    ['STS + --max-semi-space-size=1 --max-old-space-size=24', ['--max-semi-space-size=1', '--max-old-space-size=24'], true],
    ['STS + --jitless', ['--jitless'], true],
    ['STS + --lite-mode --max-semi-space-size=1', ['--lite-mode', '--max-semi-space-size=1'], true],
    ['--lite-mode --max-semi-space-size=1 --v8-pool-size=0 (no STS)', ['--lite-mode', '--max-semi-space-size=1', '--v8-pool-size=0'], false],
  ];
  for (const [name, flags, sts] of variants) {
    const brokers = await Promise.all(Array.from({ length: BROKERS }, (_, i) => startBroker(bundle, flags, sts, i + 1)));
    await Promise.all(
      brokers.map(async (b) => {
        for (let k = 0; k < 20; k++) await load1(b.port);
      }),
    );
    report(
      name,
      brokers.map((b) => b.pid),
    );
    await Promise.all(brokers.map((b) => stopBroker(b, { graceMs: 2000 })));
  }
}

function load1(port: number): Promise<void> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, path: '/creds', agent: false, headers: { authorization: TOKEN } }, (r) => {
      r.resume();
      r.on('end', () => (r.statusCode === 200 ? res() : rej(new Error(`status ${r.statusCode}`))));
    });
    req.on('error', rej);
    req.end();
  });
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
