// Benchmark: `jobrole serve` (built CLI, HTTPS, keep-alive) with 50 concurrent clients on cached credentials vs a bare
// node HTTPS server answering the same JSON with the same certificate, in the same run; plus STS calls per 1,000 requests.
// Run: npm run build && npx tsx scripts/bench/serve.ts   (JOBROLE_BENCH_SECONDS: seconds per load run, default 10)
// Loopback only; each run is bounded by time, and the whole script by the number of runs.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startAwsEmulator } from '../../test/fakes/aws-emulator.js';
import { makeTestCa } from '../../test/e2e/serve-world.js';
import { summarise, timedRequest, type Latencies, type LoadSummary } from './timing.js';

const SECONDS = Number(process.env.JOBROLE_BENCH_SECONDS ?? '10');
const CLIENTS = 50;
const JOBS = 10;
const CLI = resolve('dist/jobrole.cjs');
const AUDIENCE = 'https://jobrole.bench/broker';
const dir = mkdtempSync(join(tmpdir(), 'jobrole-bench-serve-'));

/** CLIENTS loops, each awaiting its answer before the next request, for SECONDS; one keep-alive socket per client. */
async function load(
  port: number,
  tokens: string[],
  ca: Buffer,
  path: string,
  seconds = SECONDS,
  onMeasure: () => void = () => undefined,
): Promise<LoadSummary> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS, ca });
  let got: Latencies = { lat: [], errors: 0 };
  const one = (token: string): Promise<void> =>
    timedRequest(request, { host: '127.0.0.1', servername: 'localhost', port, path, agent, headers: { authorization: token } }, got);
  // Warm-up: every client once (TLS handshakes, caches), not measured.
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => one(tokens[i % tokens.length] as string)));
  got = { lat: [], errors: 0 };
  onMeasure();
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      while (Date.now() < end) await one(tokens[i % tokens.length] as string);
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  agent.destroy();
  return summarise(got, secs);
}

function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp): Promise<RegExpExecArray> {
  return new Promise((res, rej) => {
    let text = '';
    const timer = setTimeout(() => rej(new Error(`no ${re} within 15 s: ${text}`)), 15_000);
    child[stream]?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = re.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        res(m);
      }
    });
  });
}

/** A bare node HTTPS server answering `body` to everything, in its own process (as the broker is). */
async function baseline(body: string, certPath: string, keyPath: string): Promise<{ port: number; child: ChildProcess }> {
  const code = `const b=${JSON.stringify(body)};const fs=require('fs');const s=require('https').createServer({cert:fs.readFileSync(${JSON.stringify(certPath)}),key:fs.readFileSync(${JSON.stringify(keyPath)}),keepAliveTimeout:65000},(q,r)=>{r.writeHead(200,{'content-type':'application/json','content-length':Buffer.byteLength(b),'cache-control':'no-store'});r.end(b)});s.listen(0,'127.0.0.1',()=>console.log('port',s.address().port))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const m = await waitForLine(child, 'stdout', /port (\d+)/);
  return { port: Number(m[1]), child };
}

async function main(): Promise<void> {
  const emu = await startAwsEmulator();
  const children: ChildProcess[] = [];
  try {
    const ca = makeTestCa(dir);
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `
[driver]
state_dir = "${join(dir, 'state')}"
audit_log = "${join(dir, 'audit.jsonl')}"
[aws]
sts_endpoint = "${emu.endpoint}"
imds_endpoint = "${emu.imdsEndpoint}"
[gitlab]
url = "${emu.oidc.issuer}"
[serve]
listen = "127.0.0.1:0"
tls_cert = "${ca.certPath}"
tls_key = "${ca.keyPath}"
audience = "${AUDIENCE}"
rate_limit = 10000
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
  [roles.allow]
  projects = ["group/app"]
`,
      { mode: 0o600 },
    );
    emu.addRole({ arn: 'arn:aws:iam::111122223333:role/deployer', trust: { principals: [emu.hostRoleArn] } });
    const tokens = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => emu.oidc.mintToken({ aud: AUDIENCE, project_path: 'group/app', project_id: '77', job_id: String(9000 + i) })),
    );
    const broker = spawn(process.execPath, [CLI, 'serve', '--config', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    });
    children.push(broker);
    const port = Number((await waitForLine(broker, 'stderr', /listening on https:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const cabuf = readFileSync(ca.caPath);

    // The baseline answers the very JSON the broker answers.
    const sample = await new Promise<string>((res, rej) => {
      const req = request(
        { host: '127.0.0.1', servername: 'localhost', port, path: '/v1/credentials/deployer', ca: cabuf, headers: { authorization: tokens[0] as string } },
        (r) => {
          let t = '';
          r.on('data', (d: Buffer) => {
            t += d.toString();
          });
          r.on('end', () => (r.statusCode === 200 ? res(t) : rej(new Error(`broker answered ${r.statusCode}: ${t}`))));
        },
      );
      req.on('error', rej);
      req.end();
    });
    const base = await baseline(sample, ca.certPath, ca.keyPath);
    children.push(base.child);

    console.log(
      `load: ${CLIENTS} concurrent clients (${JOBS} jobs), HTTPS keep-alive, ${SECONDS} s per run, server and clients in separate processes (${process.platform}, ${(await import('node:os')).cpus().length} CPUs)`,
    );
    const assumeRole = () => emu.calls.filter((c) => c.service === 'sts' && c.action === 'AssumeRole').length;
    // Both servers warmed up (JIT, TLS sessions) for 2 s, unmeasured; then interleaved, twice each, so machine noise hits both alike.
    await load(base.port, tokens, cabuf, '/v1/credentials/deployer', 2);
    await load(port, tokens, cabuf, '/v1/credentials/deployer', 2);
    const results: Array<{ name: string; r: LoadSummary; sts: number }> = [];
    for (let round = 0; round < 2; round++) {
      const b = await load(base.port, tokens, cabuf, '/v1/credentials/deployer');
      results.push({ name: 'bare node https', r: b, sts: 0 });
      let before = 0;
      const s = await load(port, tokens, cabuf, '/v1/credentials/deployer', SECONDS, () => {
        before = assumeRole();
      });
      results.push({ name: 'jobrole serve', r: s, sts: assumeRole() - before });
    }
    for (const { name, r, sts } of results) {
      console.log(
        `${name.padEnd(16)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}` +
          (name === 'jobrole serve' ? `  STS AssumeRole calls: ${sts} (${((sts / Math.max(1, r.requests)) * 1000).toFixed(3)} per 1,000 requests)` : ''),
      );
    }
    const ratios = [0, 1].map((i) => ((results[2 * i + 1]?.r.rps ?? 0) / (results[2 * i]?.r.rps ?? 1)).toFixed(2));
    const p99s = results.filter((x) => x.name === 'jobrole serve').map((x) => x.r.p99.toFixed(2));
    const baseP99s = results.filter((x) => x.name === 'bare node https').map((x) => x.r.p99.toFixed(2));
    console.log(
      `jobrole serve / bare https throughput per round: ${ratios.join('x, ')}x (target >= 0.5x); ` +
        `p99 per round: broker ${p99s.join(', ')} ms vs bare ${baseP99s.join(', ')} ms (target < 10 ms)`,
    );
    console.log(`STS calls in total (warm-up included): ${assumeRole()} AssumeRole for ${JOBS} jobs`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
