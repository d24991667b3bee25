// Runs one stage handler under the runner's exit-code contract: one clear line on failure, never a stack trace.

import { BuildFailure, SystemFailure, exitCodeFor, readExitCodes, type ExitCodes } from '../core/exit-codes.js';
import { causeSuffix, debugChain } from './failure-text.js';

const RED = '\u001b[31;1m';
const RESET = '\u001b[0m';

/**
 * One line (or a few, for policy refusals) for the job log: the message, its causes and the AWS request id.
 * Internal errors say how to get the stack; with JOBROLE_DEBUG=1 every error of the chain is printed with its stack.
 */
export function describeFailure(err: unknown, debug = process.env.JOBROLE_DEBUG === '1'): string {
  let line: string;
  if (err instanceof BuildFailure) line = err.message;
  else if (err instanceof SystemFailure) line = `system failure: ${err.message}`;
  else line = `internal error: ${(err as Error)?.message ?? String(err)}`;
  line += causeSuffix(err, line);
  if (debug) return `${line}\n${debugChain(err)}`;
  const internal = !(err instanceof BuildFailure) && !(err instanceof SystemFailure);
  return internal ? `${line} (set JOBROLE_DEBUG=1 in the runner environment for a stack trace)` : line;
}

export function printError(err: unknown, stream: NodeJS.WritableStream = process.stderr): void {
  const text = describeFailure(err)
    .split('\n')
    .map((l) => `${RED}jobrole: ${l}${RESET}`)
    .join('\n');
  stream.write(`${text}\n`);
}

/**
 * Stage handlers need BUILD_FAILURE_EXIT_CODE and SYSTEM_FAILURE_EXIT_CODE from gitlab-runner; without them the
 * stage was not started by the runner and reports a system failure (exit 2 unless the runner said otherwise).
 */
export async function runStageCommand(stage: string, env: NodeJS.ProcessEnv, handler: (codes: ExitCodes) => Promise<number | void>): Promise<number> {
  const codes = readExitCodes(env);
  if (codes.missing.length > 0) {
    printError(
      new SystemFailure(
        `${codes.missing.join(' and ')} ${codes.missing.length > 1 ? 'are' : 'is'} not set: "jobrole ${stage}" must be started by gitlab-runner's custom executor (see README: registering the driver)`,
      ),
    );
    return codes.systemFailure;
  }
  try {
    return (await handler(codes)) ?? 0;
  } catch (err) {
    printError(err);
    return exitCodeFor(err, codes);
  }
}
