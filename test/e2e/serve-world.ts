// An end-to-end world for `jobrole serve`: the AWS emulator + OIDC issuer, a config, a test CA, and broker processes.

import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { get as httpGet, type Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { get as httpsGet, type Agent as HttpsAgent } from 'node:https';
import { mkdtemp, rm, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAwsEmulator, type AwsEmulator, type EmulatorOptions } from '../fakes/aws-emulator.js';
import { claimsFor, type JobFacts } from './id-token-helpers.js';
import { CLI } from './world.js';

export const BROKER_AUDIENCE = 'https://jobrole.test/broker';

export interface TestCa {
  caPath: string;
  certPath: string;
  keyPath: string;
}

export interface BrokerProcess {
  /** http(s)://host:port as the broker printed it. */
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

export interface ServeWorldOptions {
  emulator?: EmulatorOptions;
  /** TOML appended (roles). */
  roles: string;
  /** Extra lines in [serve]. */
  serve?: string;
  /** Extra lines in [job]. */
  job?: string;
  /** Extra lines in [aws]. */
  aws?: string;
  /** Extra lines in [driver]. */
  driver?: string;
  /** Extra sections. */
  extra?: string;
  tls?: boolean;
  /** [aws].imds_endpoint; default the emulator's IMDS (the broker's own credentials are its instance profile). */
  imdsEndpoint?: string;
}

export interface ServeWorld {
  emu: AwsEmulator;
  dir: string;
  configPath: string;
  auditLog: string;
  ca: TestCa | undefined;
  roleArn(name: string): string;
  /** Starts a broker process on a free loopback port; waits until it says it listens. */
  start(env?: Record<string, string>): Promise<BrokerProcess>;
  /** A token for a job (claims as GitLab's, aud = the broker's audience unless overridden). */
  token(job: JobFacts, extra?: Record<string, unknown>, opts?: Parameters<AwsEmulator['oidc']['mintToken']>[1]): Promise<string>;
  audit(): Promise<string>;
  close(): Promise<void>;
}

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it (P-256, 30 days). */
export function makeTestCa(dir: string, name = 'server'): TestCa {
  const caKey = join(dir, 'ca.key');
  const caPath = join(dir, 'ca.pem');
  const keyPath = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    execFileSync('test', ['-f', caPath]);
  } catch {
    ossl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caPath,
      '-days',
      '30',
      '-subj',
      '/CN=jobrole test CA',
    ]);
  }
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', csr, '-subj', `/CN=localhost ${name}`]);
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > "$1"`, 'sh', ext]);
  ossl(['x509', '-req', '-in', csr, '-CA', caPath, '-CAkey', caKey, '-CAcreateserial', '-out', certPath, '-days', '30', '-extfile', ext]);
  return { caPath, certPath, keyPath };
}

export async function startServeWorld(opts: ServeWorldOptions): Promise<ServeWorld> {
  const emu = await startAwsEmulator(opts.emulator ?? {});
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-serve-'));
  await chmod(dir, 0o700);
  const ca = opts.tls === true ? makeTestCa(dir) : undefined;
  const configPath = join(dir, 'config.toml');
  const stateDir = join(dir, 'state');
  const auditLog = join(dir, 'audit', 'audit.jsonl');
  const toml = `
[driver]
state_dir = "${stateDir}"
builds_dir = "${join(stateDir, 'builds')}"
cache_dir = "${join(stateDir, 'cache')}"
home_dir = "${join(stateDir, 'home')}"
audit_log = "${auditLog}"
${opts.driver ?? ''}

[aws]
region = "us-east-1"
sts_endpoint = "${emu.endpoint}"
ssm_endpoint = "${emu.endpoint}"
imds_endpoint = "${opts.imdsEndpoint ?? emu.imdsEndpoint}"
max_attempts = 3
${opts.aws ?? ''}

[job]
${opts.job ?? ''}

[gitlab]
url = "${emu.oidc.issuer}"
audience = "https://jobrole.test/aud"

[serve]
listen = "127.0.0.1:0"
audience = "${BROKER_AUDIENCE}"
${ca !== undefined ? `tls_cert = "${ca.certPath}"\ntls_key = "${ca.keyPath}"` : ''}
${opts.serve ?? ''}

${opts.extra ?? ''}

${opts.roles}
`;
  await writeFile(configPath, toml, { mode: 0o600 });
  const brokers: BrokerProcess[] = [];

  const start = (env: Record<string, string> = {}): Promise<BrokerProcess> => {
    const child = spawn(process.execPath, [CLI, 'serve', '--config', configPath], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    let started = false;
    return new Promise<BrokerProcess>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker did not start within 15 s: ${err}`)), 15_000);
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (https?:\/\/[^ ]+:(\d+))/.exec(err);
        if (m !== null && !started) {
          started = true;
          clearTimeout(timer);
          const b: BrokerProcess = {
            url: m[1] as string,
            port: Number(m[2]),
            pid: child.pid as number,
            child,
            stdout: () => out,
            stderr: () => err,
            exited,
            stop: async () => {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
              await exited;
            },
          };
          brokers.push(b);
          resolve(b);
        }
      });
      void exited.then((code) => {
        if (!started) {
          started = true;
          clearTimeout(timer);
          reject(new Error(`broker exited (${code}) before listening: ${err}`));
        }
      });
    });
  };

  return {
    emu,
    dir,
    configPath,
    auditLog,
    ca,
    roleArn: (name) => `arn:aws:iam::${emu.account}:role/${name}`,
    start,
    token: (job, extra = {}, mint = {}) => emu.oidc.mintToken(claimsFor(job, { aud: BROKER_AUDIENCE, ...extra }), mint),
    audit: () => readFile(auditLog, 'utf8').catch(() => ''),
    close: async () => {
      await Promise.all(brokers.map((b) => b.stop()));
      await emu.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

/** GET a broker URL with an Authorization header (loopback only); `ca` trusts the test CA for https. */
export function getCredentials(url: string, authorization?: string, opts: { ca?: Buffer; agent?: HttpAgent | HttpsAgent } = {}): Promise<Answer> {
  const u = new URL(url);
  const get = u.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise<Answer>((resolve, reject) => {
    const req = get(
      u,
      {
        headers: authorization !== undefined ? { authorization } : {},
        timeout: 20_000,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
        ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 20 s`)));
    req.on('error', reject);
  });
}

/** The STS calls of one action the emulator recorded since `from`. */
export function stsCalls(emu: AwsEmulator, action: string, from = 0): number {
  return emu.calls.slice(from).filter((c) => c.service === 'sts' && c.action === action).length;
}

/** Runs a client command asynchronously (the emulator answers from this process, so never block it). */
export function runClient(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') return reject(new Error(`${command}: ${err.message}\n${stderr}`));
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

/** The environment a job on another executor would have: only the two container-credentials variables (and a clean home). */
export function jobEnv(world: ServeWorld, url: string, token: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    HOME: world.dir,
    LANG: 'C.UTF-8',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: url,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    ...extra,
  };
}

/** Asserts no token (nor its signature) and no issued secret appears in the broker's stdout/stderr or the audit log. */
export async function assertNothingLeaked(world: ServeWorld, brokers: BrokerProcess[], tokens: string[]): Promise<void> {
  const secrets = world.emu.sessions.flatMap((s) => [s.secretAccessKey, s.sessionToken].filter((v): v is string => typeof v === 'string' && v.length > 0));
  const needles = [...tokens, ...tokens.map((t) => t.split('.')[2] ?? ''), ...secrets].filter((s) => s.length >= 16);
  const audit = await world.audit();
  const places: Array<[string, string]> = [['audit log', audit]];
  for (const [i, b] of brokers.entries()) places.push([`broker ${i} stdout (access log)`, b.stdout()], [`broker ${i} stderr`, b.stderr()]);
  for (const [where, text] of places) {
    for (const n of needles) if (text.includes(n)) throw new Error(`a token or secret (${n.slice(0, 6)}...) appears in the ${where}`);
  }
}
