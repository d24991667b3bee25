// Forwards the runner's signal to the job a run stage started, wherever its process group is.

import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcStat } from '../core/process-identity.js';
import { jobProcessGroup, type SpawnSpec } from './run-as.js';
import { isRecordedInit } from './sandbox-init.js';

const readOrUndefined = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * Not detached (no sandbox): the job is in our process group and got the runner's signal too; signal bash.
 * Detached (sandbox): nsenter leads its own session and its child, the job, its own process group: signal
 * that whole group (bash, the stage's subshell and its commands, as the runner's group signal would),
 * never nsenter, which reports the job's status when it ends. Retried briefly while setsid has not run yet.
 */
export function signalJob(child: ChildProcess, spec: SpawnSpec, signal: NodeJS.Signals, attempts = 50): void {
  if (!spec.detached || child.pid === undefined) {
    child.kill(signal);
    return;
  }
  const pid = child.pid;
  const pgid = jobProcessGroup(pid, readOrUndefined);
  if (pgid !== undefined) {
    try {
      process.kill(-pgid, signal);
      return;
    } catch {
      // setsid has not run yet: fall through and retry
    }
  }
  if (attempts > 0 && child.exitCode === null && child.signalCode === null) {
    setTimeout(() => signalJob(child, spec, signal, attempts - 1), 20).unref();
  }
}

/** Moves the run stage into the job's cgroup before it starts the job, so every job process is counted there. */
export function joinJobCgroup(spec: SpawnSpec): void {
  if (spec.cgroup !== undefined) writeFileSync(join(spec.cgroup, 'cgroup.procs'), String(process.pid));
}

/**
 * Whether the sandbox's init is still the recorded process (isRecordedInit: live, same start time): a run
 * stage must not start the job when the sandbox is gone (nsenter would fail with an obscure error).
 */
export function sandboxAlive(sandbox: { initPid: number; startTime: string | undefined }): boolean {
  const text = readOrUndefined(`/proc/${sandbox.initPid}/stat`);
  return isRecordedInit(sandbox, text === undefined ? undefined : parseProcStat(text));
}
