// Helpers for the attacker end-to-end tests: job users, /proc scans, job state peeks, secret scans, a network namespace.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseJobStateText } from '../../src/state/state-schema.js';
import type { JobState } from '../../src/state/types.js';
import type { World } from './world.js';

export const SETPRIV = '/usr/bin/setpriv';
export const CURL = '/usr/bin/curl';
const IP = '/usr/sbin/ip';

export interface JobUserIds {
  name: string;
  uid: number;
  gid: number;
}

/** The job user of `slot` in this world (created by `host init`). */
export function jobUser(world: World, slot: number): JobUserIds {
  const name = `${world.userPrefix}${slot}`;
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { name, uid, gid };
}

/** Live (non-zombie) pids whose real, effective or saved uid is `uid`. */
export async function processesOf(uid: number): Promise<Array<{ pid: number; cmdline: string }>> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (/^State:\s+[ZX]/m.test(status)) continue;
    const ids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
    if (ids === null || !ids.slice(1, 4).some((id) => Number(id) === uid)) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
    out.push({ pid: Number(pid), cmdline });
  }
  return out;
}

export interface PeekedState {
  key: string;
  dir: string;
  jobId: number;
  phase: string;
  slot: number;
  user?: { name: string; uid: number; gid: number; home: string };
  url?: string;
  token?: string;
  brokerPid?: number;
  /** The pid of the job's sandbox init (isolation users). */
  initPid?: number;
}

/** The driver's state of every job in the world right now (the test is root; a job user cannot do this). */
export async function peekJobStates(world: World): Promise<PeekedState[]> {
  const jobs = join(world.stateDir, 'jobs');
  const out: PeekedState[] = [];
  for (const key of await readdir(jobs).catch(() => [] as string[])) {
    const text = await readFile(join(jobs, key, 'state.json'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let s: JobState;
    try {
      s = parseJobStateText(text);
    } catch {
      continue; // caught mid-write: not yet a whole job state
    }
    const env = s.jobEnv;
    out.push({
      key,
      dir: join(jobs, key),
      jobId: s.job.id,
      phase: s.phase,
      slot: s.slot,
      ...(s.user !== undefined ? { user: { name: s.user.name, uid: s.user.uid, gid: s.user.gid, home: s.user.home } } : {}),
      ...(env.AWS_CONTAINER_CREDENTIALS_FULL_URI !== undefined ? { url: env.AWS_CONTAINER_CREDENTIALS_FULL_URI } : {}),
      ...(env.AWS_CONTAINER_AUTHORIZATION_TOKEN !== undefined ? { token: env.AWS_CONTAINER_AUTHORIZATION_TOKEN } : {}),
      ...(s.broker !== undefined ? { brokerPid: s.broker.pid } : {}),
      ...(s.sandbox !== undefined ? { initPid: s.sandbox.initPid } : {}),
    });
  }
  return out;
}

/** Polls until `fn` returns something other than undefined. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

/** A prepared job's endpoint as the driver recorded it. */
export function waitForEndpoint(world: World, jobId: number): Promise<PeekedState & { url: string; token: string; user: JobUserIds & { home: string } }> {
  return waitFor(`job ${jobId}'s credentials endpoint`, async () => {
    const s = (await peekJobStates(world)).find((j) => j.jobId === jobId && j.phase === 'prepared');
    if (s?.url === undefined || s.token === undefined || s.user === undefined) return undefined;
    return s as PeekedState & { url: string; token: string; user: JobUserIds & { home: string } };
  });
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, never throwing on a non-zero exit. */
export function run(command: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CmdResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 15_000, env: opts.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** setpriv arguments that become `user` with no groups (like the driver's own drop, minus the caps details). */
export function asUser(user: { uid: number; gid: number }): string[] {
  return [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
}

/** curl as some user (or root): status code and body of one GET. */
export async function curlAs(
  user: { uid: number; gid: number } | 'root',
  url: string,
  headers: Record<string, string>,
  prefix: string[] = [],
): Promise<{ status: number; body: string; code: number }> {
  const args = ['-s', '-m', '5', '-o', '-', '-w', '\n%{http_code}', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  const argv = user === 'root' ? [...prefix, CURL, ...args] : [...prefix, SETPRIV, ...asUser(user), CURL, ...args];
  const r = await run(argv[0] as string, argv.slice(1));
  const nl = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, Math.max(nl, 0)), code: r.code };
}

/** Whether connecting to 127.0.0.1:port is refused (nothing listens). */
export function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** Which of `secrets` occur in `text` (shortened, for an assertion message that does not print them). */
export function leaked(text: string, secrets: string[]): string[] {
  return secrets.filter((s) => s.length > 0 && text.includes(s)).map((s) => `${s.slice(0, 4)}…(${s.length} chars)`);
}

// --- a network namespace with something listening on the metadata addresses ---------------------------------

export interface Netns {
  name: string;
  /** ['ip', 'netns', 'exec', name]: prefix a command with it to run it inside. */
  exec: string[];
  close(): Promise<void>;
}

export async function createNetns(tag: string): Promise<Netns> {
  const name = `jrt-${tag}-${process.pid}`;
  execFileSync(IP, ['netns', 'add', name]);
  const exec = [IP, 'netns', 'exec', name];
  try {
    execFileSync(IP, ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    execFileSync(IP, ['netns', 'del', name]);
    throw err;
  }
  return {
    name,
    exec,
    close: async () => {
      // Whatever still runs in there (a forwarder) is ended by the caller; the namespace goes with its last user.
      execFileSync(IP, ['netns', 'del', name], { stdio: 'ignore' });
    },
  };
}

/** Adds an address to the namespace's loopback (no dummy links needed: the output hook sees loopback traffic too). */
export function addAddress(ns: Netns, cidr: string, v6 = false): boolean {
  try {
    execFileSync(IP, [...(v6 ? ['-6'] : []), '-n', ns.name, 'addr', 'add', cidr, 'dev', 'lo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Forward {
  /** Where to listen inside the namespace. */
  host: string;
  port: number;
  /** Where the connection goes in the test's own namespace (127.0.0.1). */
  targetPort: number;
}

export interface Bridge {
  close(): Promise<void>;
}

/** Inside the namespace: listens on each host:port and pipes every connection to a unix socket (root-only path). */
const FORWARDER = `
const net = require('node:net');
const forwards = JSON.parse(process.argv[1]);
let ready = 0;
for (const f of forwards) {
  const server = net.createServer((c) => {
    const u = net.createConnection(f.socket);
    c.pipe(u).pipe(c);
    const end = () => { c.destroy(); u.destroy(); };
    c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
  });
  server.on('error', (e) => { process.stdout.write('error ' + f.host + ':' + f.port + ' ' + e.message + '\\n'); process.exit(1); });
  server.listen({ host: f.host, port: f.port }, () => { if (++ready === forwards.length) process.stdout.write('ready\\n'); });
}
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Makes servers of the test's own namespace (the in-process AWS emulator) reachable inside `ns` at chosen
 * addresses: unix sockets (which ignore network namespaces) in a root-only directory, and a small forwarder
 * run as root inside the namespace. Unix sockets made by root are not connectable by job users.
 */
export async function bridgeIntoNetns(ns: Netns, forwards: Forward[]): Promise<Bridge> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-bridge-'));
  const servers: Server[] = [];
  const specs: Array<{ host: string; port: number; socket: string }> = [];
  for (const [i, f] of forwards.entries()) {
    const socket = join(dir, `f${i}.sock`);
    const server = createServer((c) => {
      const t = createConnection({ host: '127.0.0.1', port: f.targetPort });
      c.pipe(t).pipe(c);
      const end = () => {
        c.destroy();
        t.destroy();
      };
      c.on('error', end);
      t.on('error', end);
      c.on('close', end);
      t.on('close', end);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    servers.push(server);
    specs.push({ host: f.host, port: f.port, socket });
  }
  const child: ChildProcess = spawn(ns.exec[0] as string, [...ns.exec.slice(1), process.execPath, '-e', FORWARDER, JSON.stringify(specs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const closeAll = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, delay(2000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const s of servers) {
      s.close();
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error('netns forwarder did not start within 10 s')), 10_000);
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (d: string) => {
        text += d;
        if (text.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        } else if (text.includes('error ')) {
          clearTimeout(timer);
          reject(new Error(`netns forwarder: ${text.trim()}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`netns forwarder exited (${code ?? '?'}) before it was ready: ${text.trim()}`));
      });
    });
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { close: closeAll };
}

// --- a mailbox between the test and a sandboxed job ---------------------------------------------------------

export interface Mailbox {
  /** http://127.0.0.1:<port>: GET <url>/<name> answers the value set, or 404. */
  url: string;
  set(name: string, value: string | Buffer): void;
  /** Whether anyone has asked for `name` yet (a job polling it is running its script). */
  asked(name: string): boolean;
  close(): Promise<void>;
}

/**
 * A job in its sandbox sees none of the test's temp dirs (its /tmp is private, the host read-only), but
 * shares the host's network: the test hands it things over loopback HTTP. `curl -sf "$MB/name"` in the job.
 */
export async function openMailbox(): Promise<Mailbox> {
  const { createServer: createHttpServer } = await import('node:http');
  const values = new Map<string, string | Buffer>();
  const asked = new Set<string>();
  const server = createHttpServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    asked.add(name);
    const v = values.get(name);
    res.writeHead(v === undefined ? 404 : 200, { 'content-type': 'application/octet-stream' });
    res.end(v ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (name, value) => void values.set(name, value),
    asked: (name) => asked.has(name),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The path `path` of a job's sandbox as root sees it from the host (through its init's /proc root link). */
export function inSandbox(initPid: number, path: string): string {
  return `/proc/${initPid}/root${path}`;
}
