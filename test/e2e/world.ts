// An end-to-end test world: the AWS emulator, a config file, state dirs, and the built CLI as the runner's driver.

import { parseAuditRecord } from '../../src/audit/audit-record.js';
import { mkdtemp, rm, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { startAwsEmulator, type AwsEmulator, type EmulatorOptions } from '../fakes/aws-emulator.js';
import { runJob } from '../harness/runner.js';
import { filesHolding } from './secret-scan.js';
import type { JobResult, RunJobOptions } from '../harness/types.js';

export const CLI = resolve('dist/jobrole.cjs');
export const DEBIAN_AWS = '/usr/bin/aws';
export const DEBIAN_PYTHON = '/usr/bin/python3';

export { DEPLOYER_ROLE } from '../harness/roles.js';

/** Text without ANSI colour and control sequences (the job log's sections and colours). */
export function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export interface WorldOptions {
  isolation?: 'users' | 'none';
  delivery?: 'endpoint' | 'env' | 'file' | 'web-identity-file';
  slots?: number;
  /** Extra TOML appended to the config (typically [[roles]] entries). */
  roles?: string;
  /** Extra lines inside [job]. */
  job?: string;
  /** Extra lines inside [driver]. */
  driver?: string;
  /** Extra sections (e.g. [gitlab] ...). */
  extra?: string;
  emulator?: EmulatorOptions;
  /**
   * Runs every driver invocation (the harness's stages and cli(), so also `host init`) behind this command
   * prefix, e.g. ['ip', 'netns', 'exec', 'NS'] to put the driver, its broker and the job in a network namespace.
   */
  driverPrefix?: string[];
  /** [aws].imds_endpoint instead of the emulator's IMDS ('' = the driver's default, http://169.254.169.254). */
  imdsEndpoint?: string;
}

export interface World {
  emu: AwsEmulator;
  dir: string;
  configPath: string;
  stateDir: string;
  auditLog: string;
  userPrefix: string;
  firewallTable: string;
  runnerEnv: Record<string, string>;
  account: string;
  roleArn(name: string): string;
  job(opts: Omit<RunJobOptions, 'driver'> & { runnerEnv?: Record<string, string> }): Promise<JobResult>;
  /** Synchronous: only for commands that never call the in-process emulator (it cannot answer while this blocks). */
  cli(args: string[], env?: Record<string, string>): { status: number; stdout: string; stderr: string };
  /** For commands that may talk to the emulator (gc, doctor, explain with central policy). */
  cliAsync(args: string[], env?: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }>;
  audit(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

let counter = 0;

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const emu = await startAwsEmulator(opts.emulator ?? {});
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-e2e-'));
  await chmod(dir, 0o755);
  const id = `${process.pid % 100000}${counter++}`;
  const userPrefix = `jrt${id}j`;
  const firewallTable = `jrt${id}`;
  const isolation = opts.isolation ?? 'none';
  const configPath = join(dir, 'config.toml');
  const stateDir = join(dir, 'state');
  const auditLog = join(dir, 'audit', 'audit.jsonl');
  const toml = `
[driver]
state_dir = "${stateDir}"
builds_dir = "${join(stateDir, 'builds')}"
cache_dir = "${join(stateDir, 'cache')}"
audit_log = "${auditLog}"
home_dir = "${join(stateDir, 'home')}"
slots = ${opts.slots ?? 2}
job_user_prefix = "${userPrefix}"
firewall_table = "${firewallTable}"
${opts.driver ?? ''}

[aws]
region = "us-east-1"
sts_endpoint = "${emu.endpoint}"
ec2_endpoint = "${emu.endpoint}"
ssm_endpoint = "${emu.endpoint}"
imds_endpoint = "${opts.imdsEndpoint ?? emu.imdsEndpoint}"
max_attempts = 4

[job]
isolation = "${isolation}"
delivery = "${opts.delivery ?? 'endpoint'}"
${opts.job ?? ''}

${opts.extra ?? ''}

${opts.roles ?? ''}
`;
  await writeFile(configPath, toml, { mode: 0o600 });
  const runnerHome = join(dir, 'runner-home');
  execFileSync('mkdir', ['-p', runnerHome]);
  const runnerEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: runnerHome,
    LANG: 'C.UTF-8',
    // The runner's own secrets: none of these may reach a job.
    CI_SERVER_TLS_KEY_FILE_SECRET: 'runner-private-secret-value-1234',
    HTTPS_PROXY: 'http://proxyuser:proxy-password-secret@127.0.0.1:9',
    RUNNER_REGISTRATION_TOKEN: 'glrt-RUNNERSECRETTOKEN1234567890',
  };
  const prefix = opts.driverPrefix ?? [];
  /** The driver's command line: [command, ...args] with the prefix (if any) in front. */
  const driverArgv = (args: string[]): [string, string[]] => {
    const argv = [...prefix, process.execPath, CLI, '--config', configPath, ...args];
    return [argv[0] as string, argv.slice(1)];
  };
  const world: World = {
    emu,
    dir,
    configPath,
    stateDir,
    auditLog,
    userPrefix,
    firewallTable,
    runnerEnv,
    account: emu.account,
    roleArn: (name) => `arn:aws:iam::${emu.account}:role/${name}`,
    job: (o) =>
      runJob({
        prepareRetryDelayMs: 100,
        gracefulKillMs: 5000,
        tmpRoot: dir,
        ...o,
        runnerEnv: { ...runnerEnv, ...(o.runnerEnv ?? {}) },
        driver: { command: driverArgv([])[0], args: driverArgv([])[1] },
      }),
    cli: (args, env = {}) => {
      try {
        const [command, argv] = driverArgv(args);
        const stdout = execFileSync(command, argv, { env: { ...runnerEnv, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return { status: 0, stdout, stderr: '' };
      } catch (err) {
        const e = err as { status: number; stdout: string; stderr: string };
        return { status: e.status, stdout: String(e.stdout), stderr: String(e.stderr) };
      }
    },
    cliAsync: (args, env = {}) => {
      const [command, argv] = driverArgv(args);
      return new Promise((resolvePromise, reject) => {
        execFile(command, argv, { env: { ...runnerEnv, ...env }, encoding: 'utf8' }, (err, stdout, stderr) => {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an ExecFileException is an Error; @types/node spells it as an Omit<> of one
          if (err !== null && typeof err.code !== 'number') return reject(err);
          resolvePromise({ status: err === null ? 0 : (err.code as number), stdout, stderr });
        });
      });
    },
    audit: async () => {
      const text = await readFile(auditLog, 'utf8').catch(() => '');
      // Every record the driver wrote must fit the audit schema (parseAuditRecord throws naming the field).
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => parseAuditRecord(JSON.parse(l)) as unknown as Record<string, unknown>);
    },
    close: async () => {
      await emu.stop();
      if (isolation === 'users') {
        // A test that failed mid-job leaves its sandbox running: end every init this world's states name.
        await endSandboxes(stateDir);
        execFileSync('bash', [
          '-c',
          `for u in $(getent passwd | cut -d: -f1 | grep '^${userPrefix}'); do pkill -KILL -u "$u" 2>/dev/null; userdel "$u" 2>/dev/null; done; nft delete table inet ${firewallTable} 2>/dev/null; nft delete table inet ${firewallTable}_ep 2>/dev/null; true`,
        ]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (isolation === 'users') {
    const r = world.cli(['host', 'init']);
    if (r.status !== 0) throw new Error(`host init failed: ${r.stderr}${r.stdout}`);
  }
  return world;
}

async function endSandboxes(stateDir: string): Promise<void> {
  const { readdir, rmdir } = await import('node:fs/promises');
  for (const key of await readdir(join(stateDir, 'jobs')).catch(() => [] as string[])) {
    const state = await readFile(join(stateDir, 'jobs', key, 'state.json'), 'utf8').then(
      (t) => JSON.parse(t) as { sandbox?: { initPid: number; cgroup?: string } },
      () => undefined,
    );
    const sb = state?.sandbox;
    if (sb === undefined) continue;
    const cmdline = await readFile(`/proc/${sb.initPid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('jobrole-sandbox')) {
      try {
        process.kill(sb.initPid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (sb.cgroup !== undefined) {
      for (
        let i = 0;
        i < 50 &&
        (await rmdir(sb.cgroup).then(
          () => false,
          (e: NodeJS.ErrnoException) => e.code !== 'ENOENT',
        ));
        i++
      )
        await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Every secret of every session the emulator issued (what must never show up anywhere). */
export function issuedSecrets(emu: AwsEmulator): string[] {
  return emu.sessions.flatMap((s) => [s.secretAccessKey, s.sessionToken].filter((v): v is string => typeof v === 'string' && v.length > 0));
}

/** Files under the world (state, builds, cache, homes, runner temp dirs) whose content contains any of the secrets. */
export function filesContaining(world: World, secrets: string[]): Promise<string[]> {
  return filesHolding([world.dir], secrets);
}
