// A job's deadline: its own timeout plus a grace period, after which gc treats it as abandoned.

import type { JobState } from './types.js';

/** Grace after the job's own timeout before gc may treat the job as abandoned. */
export const DEADLINE_GRACE_SECONDS = 3600;

/** When the job's own timeout runs out (epoch ms). */
export function jobTimeoutEnd(state: Pick<JobState, 'deadline'>): number {
  return Date.parse(state.deadline) - DEADLINE_GRACE_SECONDS * 1000;
}
