// Stage run: one stage script fed to bash on stdin as the job user, with an explicit environment and a redacted log.

import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { SystemFailure, type ExitCodes } from '../core/exit-codes.js';
import { baseJobEnv, jobStateDirFromEnv, JOB_STATE_VAR } from '../runner/env.js';
import { readFileNoFollow } from '../core/secure-fs.js';
import { parseStateFile } from '../state/job-store.js';
import type { JobState } from '../state/types.js';
import { jobSpawnSpec } from '../isolation/run-as.js';
import { joinJobCgroup, sandboxAlive, signalJob } from '../isolation/job-signal.js';
import { pumpStageOutput } from '../runner/output-pump.js';
import { openOutputChannels, streamSource } from '../runner/output-channels.js';
import { subscribeSecretFeed } from '../broker/feed.js';

/** Longest wait for the endpoint's feed to hand over the secrets it issued so far (a local socket: milliseconds). */
const FEED_SYNC_MS = 1000;

/** After bash exits, how long a background process that still holds the output may keep the stage open. */
const OUTPUT_GRACE_MS = 1500;

async function readState(dir: string): Promise<JobState> {
  const file = join(dir, 'state.json');
  let text: string;
  try {
    text = await readFileNoFollow(file);
  } catch (err) {
    throw new SystemFailure(
      `the job's state in ${dir} is missing or unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): did prepare run?`,
      { cause: err },
    );
  }
  return parseStateFile(file, text);
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 1 : 128 + (osConstants.signals[signal] ?? 0);
}

/** Runs the stage script; returns the process exit code for the runner (0, or the build-failure code). */
export async function runStage(scriptPath: string, stageName: string, env: NodeJS.ProcessEnv, codes: ExitCodes): Promise<number> {
  const dir = jobStateDirFromEnv(env);
  if (dir === undefined)
    throw new SystemFailure(`${JOB_STATE_VAR} is not set: the config stage's job_env did not reach the run stage (is config_exec jobrole config?)`);
  const [state, script] = await Promise.all([
    readState(dir),
    readFile(scriptPath).catch((err: NodeJS.ErrnoException) => {
      throw new SystemFailure(`cannot read the ${stageName} script ${scriptPath} (${err.code ?? err.message})`, { cause: err });
    }),
  ]);
  if (state.phase !== 'prepared') throw new SystemFailure(`job ${state.job.id} is not prepared (state: ${state.phase}); run stages need a successful prepare`);
  const user = state.isolation === 'users' ? state.user : undefined;
  if (state.isolation === 'users' && user === undefined) throw new SystemFailure(`job ${state.job.id} should run as a job user, but its state names none`);
  if (state.isolation === 'users' && state.sandbox === undefined)
    throw new SystemFailure(`job ${state.job.id} has no sandbox recorded: prepare did not finish setting it up`);
  if (state.sandbox !== undefined && !sandboxAlive(state.sandbox)) {
    throw new SystemFailure(
      `the sandbox of job ${state.job.id} (init pid ${state.sandbox.initPid}) is gone: something killed it; the job cannot go on (cleanup scrubs the slot)`,
    );
  }
  const spec = jobSpawnSpec(user, { ...baseJobEnv(env), ...state.jobEnv }, user?.home ?? process.cwd(), state.sandbox);

  const learned: string[] = [];
  let learn = (s: string): void => {
    learned.push(s);
  };
  const feed = state.broker !== undefined ? subscribeSecretFeed(state.broker.feedSocket, (s) => learn(s)) : undefined;
  // Credentials the endpoint renewed since prepare are not in the state: learn them before the job can print them.
  // Meanwhile, open the sockets the job's output comes through (output-channels.ts).
  const [channels] = await Promise.all([
    openOutputChannels(dir),
    feed !== undefined ? Promise.race([feed.ready, new Promise((r) => setTimeout(r, FEED_SYNC_MS).unref())]) : undefined,
  ]);

  // Without a sandbox bash stays in this process group (the runner's SIGTERM reaches it); with one, the job
  // leads its own group inside the sandbox and onTerm forwards the signal there (see signalJob).
  try {
    joinJobCgroup(spec);
  } catch (e) {
    channels?.closeChildEnds();
    throw new SystemFailure(`cannot join the job's cgroup ${spec.cgroup ?? ''}: ${(e as Error).message}`, { cause: e });
  }
  const child = spawn(spec.command, spec.args, {
    env: spec.env,
    cwd: spec.cwd,
    stdio: ['pipe', channels?.stdio[0] ?? 'pipe', channels?.stdio[1] ?? 'pipe'],
    detached: spec.detached,
  });
  channels?.closeChildEnds();
  const onTerm = () => {
    signalJob(child, spec, 'SIGTERM');
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(script);
  const output = pumpStageOutput(channels?.out ?? streamSource(child.stdout!), channels?.err ?? streamSource(child.stderr!), [...state.secrets, ...learned]);
  learn = (s) => output.addSecret(s);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (e) => reject(new SystemFailure(`cannot start the job's shell (${spec.command}): ${e.message}`, { cause: e })));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  }).finally(() => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
  });
  // A background process of the job may still hold the pipes; it does not get to keep the stage open.
  await output.settle(OUTPUT_GRACE_MS);
  feed?.close();

  const status = exit.code ?? signalNumber(exit.signal);
  const exitFile = env.BUILD_EXIT_CODE_FILE;
  if (status === 0) {
    if (exitFile) await rm(exitFile, { force: true });
    return 0;
  }
  if (exitFile) await writeFile(exitFile, `${status}\n`);
  return codes.buildFailure;
}
