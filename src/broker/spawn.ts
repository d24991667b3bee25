// Starts the broker detached from prepare (own session), hands it the secrets on stdin, waits for its port.

import { spawn } from 'node:child_process';
import { SystemFailure } from '../core/exit-codes.js';
import { parseBrokerAnswer, type BrokerAnswer } from './events.js';
import type { BrokerHandshake } from './handshake.js';
import { readProcessStartTime } from '../core/process-identity.js';

export type { BrokerHandshake } from './handshake.js';

export interface SpawnBrokerOptions {
  command: string;
  args: string[];
  handshake: BrokerHandshake;
  /** Default 10 s. */
  timeoutMs?: number;
  /**
   * The broker's whole environment (default: PATH only). Never the parent's: prepare's environment holds the
   * job's variables (ID token, masked CI variables) and /proc/PID/environ outlives nothing we control.
   */
  env?: Record<string, string>;
  /** The broker's stderr: 'ignore' (default) or an open file descriptor (a log file). */
  stderr?: 'ignore' | number;
}

export interface SpawnedBroker {
  pid: number;
  startTime: string | undefined;
  port: number;
}

const DEFAULT_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
const MAX_ANSWER = 64 * 1024;

export async function spawnBroker(opts: SpawnBrokerOptions): Promise<SpawnedBroker> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const child = spawn(opts.command, opts.args, {
    detached: true,
    cwd: '/',
    env: opts.env ?? DEFAULT_ENV,
    stdio: ['pipe', 'pipe', opts.stderr ?? 'ignore'],
  });
  const { stdin, stdout } = child;
  if (stdin === null || stdout === null) throw new SystemFailure('credentials broker started without stdin/stdout pipes');

  const answer = new Promise<number>((resolve, reject) => {
    let text = '';
    child.once('error', (err) => reject(new SystemFailure(`cannot start the credentials broker (${opts.command}): ${err.message}`, { cause: err })));
    stdin.on('error', () => undefined); // the child died early: reported by exit below
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl === -1) {
        if (text.length > MAX_ANSWER) reject(new SystemFailure('credentials broker answered with an overlong line'));
        return;
      }
      let msg: BrokerAnswer;
      try {
        msg = parseBrokerAnswer(text.slice(0, nl));
      } catch (err) {
        return reject(new SystemFailure(`credentials broker answered badly: ${(err as Error).message}`));
      }
      if ('port' in msg) resolve(msg.port);
      else reject(new SystemFailure(`credentials broker failed to start: ${msg.error}`));
    });
    child.once('exit', (code, signal) => reject(new SystemFailure(`credentials broker exited (${signal ?? `code ${code ?? '?'}`}) before it was ready`)));
  });

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SystemFailure(`credentials broker did not answer within ${timeoutMs} ms`)), timeoutMs);
  });

  stdin.end(JSON.stringify(opts.handshake) + '\n');
  try {
    const port = await Promise.race([answer, timeout]);
    const pid = child.pid;
    if (pid === undefined) throw new SystemFailure('credentials broker has no pid');
    const startTime = await readProcessStartTime(pid);
    return { pid, startTime, port };
  } catch (err) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL'); // its own process group (detached)
      } catch {
        child.kill('SIGKILL');
      }
    }
    throw err;
  } finally {
    clearTimeout(timer);
    stdin.destroy();
    stdout.destroy();
    child.removeAllListeners('exit');
    child.unref();
  }
}
