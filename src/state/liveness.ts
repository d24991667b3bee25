// Tells a live job from one whose runner died or whose deadline passed, so gc may scrub it.

import { readProcessStartTime } from '../core/process-identity.js';
import type { JobState } from './types.js';

export type Liveness = { live: true } | { live: false; why: string };

export async function jobLiveness(state: JobState, now: Date = new Date()): Promise<Liveness> {
  if (state.phase === 'scrubbing') {
    const by = state.scrubber;
    // Its scrubber still runs: nobody else touches it (gc would otherwise scrub a job being scrubbed).
    if (by !== undefined && (await readProcessStartTime(by.pid)) === by.startTime && by.startTime !== undefined) return { live: true };
    return { live: false, why: 'a scrub of it was started and did not finish' };
  }
  const deadline = Date.parse(state.deadline);
  if (Number.isNaN(deadline) || now.getTime() > deadline) return { live: false, why: `its deadline ${state.deadline} has passed` };
  const start = await readProcessStartTime(state.runner.pid);
  if (start === undefined) return { live: false, why: `the runner process ${state.runner.pid} that started it is gone` };
  if (state.runner.startTime !== undefined && start !== state.runner.startTime) {
    return { live: false, why: `the runner process ${state.runner.pid} that started it is gone (pid reused)` };
  }
  return { live: true };
}
