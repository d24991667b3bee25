// Where per-job state lives and how it is read, written atomically (0600) and removed.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobState } from './types.js';
import { parseJobStateText, RecordError } from './state-schema.js';
import { SystemFailure } from '../core/exit-codes.js';
import { ensurePrivateDir, readFileNoFollow, scrubPath, writeFileAtomic } from '../core/secure-fs.js';

const KEY = /^\d{1,20}-[a-f0-9]{12}$/;

export interface StateLayout {
  root: string;
  /** Root-only (0700): one directory per job with state.json and the broker's feed socket. */
  jobs: string;
  /** Root-only (0700): slot claims. */
  slots: string;
  /** 0711: per-job credential files, each job's directory owned by its job user. */
  files: string;
  /** Root-only (0700): JWKS and central-policy caches (not [driver].cache_dir, which belongs to jobs). */
  cache: string;
}

export function stateLayout(stateDir: string): StateLayout {
  return {
    root: stateDir,
    jobs: join(stateDir, 'jobs'),
    slots: join(stateDir, 'slots'),
    files: join(stateDir, 'files'),
    cache: join(stateDir, 'driver-cache'),
  };
}

export async function ensureStateLayout(layout: StateLayout): Promise<void> {
  await ensurePrivateDir(layout.root, 0o711);
  await ensurePrivateDir(layout.jobs, 0o700);
  await ensurePrivateDir(layout.slots, 0o700);
  await ensurePrivateDir(layout.files, 0o711);
  await ensurePrivateDir(layout.cache, 0o700);
}

export function isJobKey(key: string): boolean {
  return KEY.test(key);
}

export function jobDir(layout: StateLayout, key: string): string {
  if (!isJobKey(key)) throw new Error(`not a job key: ${JSON.stringify(key.slice(0, 40))}`);
  return join(layout.jobs, key);
}

export function jobFilesDir(layout: StateLayout, key: string): string {
  if (!isJobKey(key)) throw new Error(`not a job key: ${JSON.stringify(key.slice(0, 40))}`);
  return join(layout.files, key);
}

export async function writeJobState(layout: StateLayout, state: JobState): Promise<void> {
  const dir = jobDir(layout, state.key);
  await ensurePrivateDir(dir, 0o700);
  await writeFileAtomic(join(dir, 'state.json'), `${JSON.stringify(state)}\n`, 0o600);
}

/** The job's state, or undefined when there is none (never written, or already scrubbed). */
export async function readJobState(layout: StateLayout, key: string): Promise<JobState | undefined> {
  let text: string;
  try {
    text = await readFileNoFollow(join(jobDir(layout, key), 'state.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseStateFile(join(jobDir(layout, key), 'state.json'), text);
}

/** state.json's text as a JobState, or a SystemFailure naming the file and the bad field (never a crash further on). */
export function parseStateFile(file: string, text: string): JobState {
  try {
    return parseJobStateText(text);
  } catch (err) {
    // The RecordError is already in the message: no cause, so the chain is not printed twice.
    if (!(err instanceof RecordError)) throw err;
    throw new SystemFailure(
      `the job state file ${file} is corrupt or not a jobrole job state: ${err.field === '' ? 'it' : `field "${err.field}"`} ${err.problem}; nothing in it was acted on (keep a copy to inspect, then "jobrole gc" removes unreadable job states)`,
    );
  }
}

export async function listJobKeys(layout: StateLayout): Promise<string[]> {
  try {
    return (await readdir(layout.jobs)).filter(isJobKey);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Deletes the job's state directory: the last step of a scrub. */
export async function deleteJobState(layout: StateLayout, key: string): Promise<void> {
  await scrubPath(jobDir(layout, key));
}
