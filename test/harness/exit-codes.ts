// The runner's exit-code rules for driver executables: 0 ok, 1 build failure, 2 system failure, else unknown.
import { readFile } from 'node:fs/promises';
import { BUILD_FAILURE_EXIT_CODE, SYSTEM_FAILURE_EXIT_CODE } from './env.js';
import type { ExecOutcome } from './exec-stage.js';
import type { JobStatus } from './types.js';

export interface Failure {
  kind: 'build' | 'system' | 'unknown' | 'canceled' | 'timeout';
  message: string;
  /** For build failures: the job's exit code from BUILD_EXIT_CODE_FILE, when present. */
  exitCode?: number;
}

/** First line of BUILD_EXIT_CODE_FILE as an integer, as the runner reads it; undefined if absent or not a number. */
async function readBuildExitCode(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const first = (text.split('\n')[0] ?? '').trim();
  return /^-?\d+$/.test(first) ? Number.parseInt(first, 10) : undefined;
}

export async function classify(outcome: ExecOutcome, buildExitCodeFile: string): Promise<Failure | undefined> {
  if (outcome.terminated === 'cancel') return { kind: 'canceled', message: 'canceled' };
  if (outcome.terminated === 'timeout') return { kind: 'timeout', message: 'execution took longer than the timeout' };
  if (outcome.error !== undefined) return { kind: outcome.exitCode === null && outcome.signal === null ? 'system' : 'unknown', message: outcome.error };
  if (outcome.signal !== null) return { kind: 'unknown', message: `signal: ${outcome.signal.replace(/^SIG/, '').toLowerCase()}` };
  switch (outcome.exitCode) {
    case 0:
      return undefined;
    case BUILD_FAILURE_EXIT_CODE: {
      const code = await readBuildExitCode(buildExitCodeFile);
      return code === undefined ? { kind: 'build', message: 'exit status 1' } : { kind: 'build', message: `exit code ${code}`, exitCode: code };
    }
    case SYSTEM_FAILURE_EXIT_CODE:
      return { kind: 'system', message: 'exit status 2' };
    default:
      return {
        kind: 'unknown',
        message: `unknown Custom executor executable exit code ${outcome.exitCode}; executable execution terminated with: exit status ${outcome.exitCode}`,
      };
  }
}

export function statusOf(failure: Failure | undefined): JobStatus {
  switch (failure?.kind) {
    case undefined:
      return 'success';
    case 'build':
    case 'timeout':
      return 'failed';
    case 'system':
      return 'system_failure';
    case 'unknown':
      return 'unknown_failure';
    case 'canceled':
      return 'canceled';
  }
}
