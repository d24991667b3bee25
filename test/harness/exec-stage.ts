// Spawns one driver executable as gitlab-runner does and reports when it has exited AND its pipes closed.
import { spawn } from 'node:child_process';

/** After SIGKILL, how long to wait for the pipes to close before giving up (the runner's force-kill wait). */
const FORCE_KILL_WAIT_MS = 5000;

export interface ExecRequest {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  onStdout: (chunk: Buffer) => void;
  onStderr: (chunk: Buffer) => void;
  timeoutMs: number | undefined;
  gracefulKillMs: number;
}

export interface ExecOutcome {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  terminated: 'cancel' | 'timeout' | undefined;
  /** Could not start, or the pipes never closed after SIGKILL. */
  error: string | undefined;
}

export interface ExecHandle {
  pid: number | undefined;
  /** SIGTERM to the whole process group, SIGKILL to it after gracefulKillMs. */
  terminate(reason: 'cancel' | 'timeout'): void;
  done: Promise<ExecOutcome>;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

export function execStage(req: ExecRequest): ExecHandle {
  const started = performance.now();
  // No shell; stdin /dev/null; cwd the custom-executorNNN dir; detached = setsid, so the executable
  // leads its own process group, which is what cancel and timeout signal.
  const child = spawn(req.command, req.args, {
    cwd: req.cwd,
    env: req.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const timers: NodeJS.Timeout[] = [];
  let terminated: 'cancel' | 'timeout' | undefined;
  let settle: (o: ExecOutcome) => void = () => {};
  let settled = false;
  const done = new Promise<ExecOutcome>((resolve) => {
    settle = (o) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      resolve(o);
    };
  });
  const outcome = (exitCode: number | null, signal: string | null, error?: string): ExecOutcome => ({
    exitCode,
    signal,
    durationMs: Math.round(performance.now() - started),
    terminated,
    error,
  });

  child.stdout.on('data', req.onStdout);
  child.stderr.on('data', req.onStderr);
  let exited: { code: number | null; signal: string | null } | undefined;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  // 'close' = exited and stdout/stderr closed: a background process holding the pipe keeps the stage open.
  child.on('close', (code, signal) => settle(outcome(code, signal)));
  child.on('error', (err) => {
    if (child.pid === undefined) settle(outcome(null, null, `failed to start command: ${err.message}`));
  });

  const pid = child.pid;
  const terminate = (reason: 'cancel' | 'timeout'): void => {
    if (terminated || settled || pid === undefined) return;
    terminated = reason;
    signalGroup(pid, 'SIGTERM');
    timers.push(
      setTimeout(() => {
        signalGroup(pid, 'SIGKILL');
        timers.push(
          setTimeout(() => {
            // Something outside the group still holds the pipes: give up as the runner does.
            child.stdout.destroy();
            child.stderr.destroy();
            settle(outcome(exited?.code ?? null, exited?.signal ?? null, 'failed to kill process, likely process is dormant'));
          }, FORCE_KILL_WAIT_MS),
        );
      }, req.gracefulKillMs),
    );
  };
  if (req.timeoutMs !== undefined && pid !== undefined) {
    timers.push(setTimeout(() => terminate('timeout'), req.timeoutMs));
  }
  return { pid, terminate, done };
}
