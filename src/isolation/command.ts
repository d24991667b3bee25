// The command runner isolation code shells out through (useradd, nft, setpriv), replaceable in tests.

import { execa } from 'execa';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** The whole environment of the command (nothing inherited); default: the driver's own. */
  env?: Record<string, string>;
}

/** Runs a program (no shell) and reports how it ended; never throws for a non-zero exit. */
export type CommandRunner = (file: string, args: readonly string[], opts?: CommandOptions) => Promise<CommandResult>;

export const runCommand: CommandRunner = async (file, args, opts = {}) => {
  const r = await execa(file, [...args], {
    reject: false,
    stripFinalNewline: false,
    // The stage's cwd is the runner's private temp dir; a command that drops to a job user could not enter it.
    cwd: '/',
    ...(opts.env === undefined ? {} : { env: opts.env, extendEnv: false }),
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  if (r.failed && r.exitCode === undefined) {
    // Could not start it at all (missing binary): keep the cause readable.
    return { exitCode: 127, stdout: '', stderr: String(r.shortMessage ?? `cannot run ${file}`) };
  }
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
};

/** A one-line description of a failed command for error messages. */
export function describeFailure(file: string, args: readonly string[], r: CommandResult): string {
  const why = r.stderr.trim() || r.stdout.trim() || 'no output';
  return `\`${[file, ...args].join(' ')}\` exited ${r.exitCode}: ${why}`;
}
