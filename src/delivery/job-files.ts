// Where and how file deliveries write: the job's files directory, root's, readable by the job's group only.

import type { Owner } from '../core/secure-fs.js';
import { ensurePrivateDir } from '../core/secure-fs.js';
import { jobFilesDir, type StateLayout } from '../state/job-store.js';
import type { JobState } from '../state/types.js';
import type { Persist } from '../credentials/strategy.js';

export interface JobFiles {
  dir: string;
  owner: Owner | undefined;
  fileMode: number;
}

/**
 * Makes the job's files directory and records it for cleanup (with `secrets`, when given) before anything is
 * written into it. The sandbox makes it first, to mount it read-only inside; a file delivery then finds it there.
 */
export async function jobFilesFor(layout: StateLayout, state: JobState, persist: Persist, secrets?: string[]): Promise<JobFiles> {
  // Root's files, readable by the job's group: the job can read them but never replace, move or chmod them.
  const owner = state.user !== undefined ? { uid: 0, gid: state.user.gid } : undefined;
  const dir = jobFilesDir(layout, state.key);
  await ensurePrivateDir(dir, owner !== undefined ? 0o750 : 0o700, owner);
  await persist({ files: [...new Set([...state.files, dir])], ...(secrets !== undefined ? { secrets } : {}) });
  return { dir, owner, fileMode: owner !== undefined ? 0o640 : 0o600 };
}
