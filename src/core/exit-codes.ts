// The exit-code contract with gitlab-runner: typed build vs system failures and the codes they map to.

/** The job's own fault (script failed, role refused, bad ID token): not retried by the runner. */
export class BuildFailure extends Error {
  override readonly name = 'BuildFailure';
  /** Exit status to record in BUILD_EXIT_CODE_FILE, when there is one (a script's own status). */
  readonly jobExitCode: number | undefined;
  constructor(message: string, options: { cause?: unknown; jobExitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.jobExitCode = options.jobExitCode;
  }
}

/** The host's or AWS's fault (bad config, STS unreachable, throttled after retries): the runner retries. */
export class SystemFailure extends Error {
  override readonly name = 'SystemFailure';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

export interface ExitCodes {
  buildFailure: number;
  systemFailure: number;
}

const DEFAULT_BUILD_FAILURE = 1;
const DEFAULT_SYSTEM_FAILURE = 2;

function parseCode(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d{1,3}$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return n >= 1 && n <= 255 ? n : undefined;
}

/**
 * Reads BUILD_FAILURE_EXIT_CODE / SYSTEM_FAILURE_EXIT_CODE. When the runner did not give them (an operator
 * running a stage by hand, a broken runner), fall back to the runner's documented defaults 1 and 2 and
 * report which were missing so the caller can say so.
 */
export function readExitCodes(env: NodeJS.ProcessEnv): ExitCodes & { missing: string[] } {
  const missing: string[] = [];
  const build = parseCode(env.BUILD_FAILURE_EXIT_CODE);
  const system = parseCode(env.SYSTEM_FAILURE_EXIT_CODE);
  if (build === undefined) missing.push('BUILD_FAILURE_EXIT_CODE');
  if (system === undefined) missing.push('SYSTEM_FAILURE_EXIT_CODE');
  return { buildFailure: build ?? DEFAULT_BUILD_FAILURE, systemFailure: system ?? DEFAULT_SYSTEM_FAILURE, missing };
}

/** Maps any thrown value to the exit code the runner expects. Unknown errors are system failures. */
export function exitCodeFor(err: unknown, codes: ExitCodes): number {
  if (err instanceof BuildFailure) return codes.buildFailure;
  return codes.systemFailure;
}
