// Runs one stage handler under the runner's exit-code contract: one clear line on failure, never a stack trace.

import { BuildFailure, SystemFailure, exitCodeFor, readExitCodes, type ExitCodes } from './exit-codes.js';

const RED = '\u001b[31;1m';
const RESET = '\u001b[0m';

/** One line (or a few, for policy refusals) for the job log; internal errors say how to get the stack. */
export function describeError(err: unknown): string {
  if (err instanceof BuildFailure) return err.message;
  if (err instanceof SystemFailure) return `system failure: ${err.message}`;
  const e = err as Error;
  const detail = process.env.JOBROLE_DEBUG === '1' && e?.stack ? `\n${e.stack}` : ' (set JOBROLE_DEBUG=1 in the runner environment for a stack trace)';
  return `internal error: ${e?.message ?? String(err)}${detail}`;
}

export function printError(err: unknown, stream: NodeJS.WritableStream = process.stderr): void {
  const text = describeError(err).split('\n').map((l) => `${RED}jobrole: ${l}${RESET}`).join('\n');
  stream.write(`${text}\n`);
}

/**
 * Stage handlers need BUILD_FAILURE_EXIT_CODE and SYSTEM_FAILURE_EXIT_CODE from gitlab-runner; without them the
 * stage was not started by the runner and reports a system failure (exit 2 unless the runner said otherwise).
 */
export async function runStageCommand(stage: string, env: NodeJS.ProcessEnv, handler: (codes: ExitCodes) => Promise<number | void>): Promise<number> {
  const codes = readExitCodes(env);
  if (codes.missing.length > 0) {
    printError(new SystemFailure(`${codes.missing.join(' and ')} ${codes.missing.length > 1 ? 'are' : 'is'} not set: "jobrole ${stage}" must be started by gitlab-runner's custom executor (see README: registering the driver)`));
    return codes.systemFailure;
  }
  try {
    return (await handler(codes)) ?? 0;
  } catch (err) {
    printError(err);
    return exitCodeFor(err, codes);
  }
}
