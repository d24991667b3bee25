// The order cleanup undoes a job in: deliveries, sandbox, strategies, slot, files; each part reads its own records.

import type { UndoStep } from '../core/undo-step.js';
import { scrubPath } from '../core/secure-fs.js';
import { jobFilesDir, type StateLayout } from '../state/job-store.js';
import type { JobState } from '../state/types.js';
import type { Services } from './services.js';

/**
 * Every delivery's teardown first (the job loses its credentials at once), then the sandbox (the kernel ends
 * every process in it), every strategy's undo (a swapped profile is restored only after that), the slot (no
 * process of its user left, then its dirs), and last the job's credential files. Parts whose records the state
 * lacks contribute nothing, so this serves a complete job, a prepare killed mid-way, and gc alike.
 */
export function jobUndoSteps(
  state: JobState,
  svc: Pick<Services, 'config' | 'layout' | 'log' | 'audit' | 'aws' | 'host' | 'strategies' | 'deliveries'>,
): UndoStep[] {
  const req = {
    config: svc.config,
    layout: svc.layout,
    log: svc.log,
    audit: svc.audit,
    aws: svc.aws,
    fenceForRestore: (s: JobState) => svc.host.fenceForRestore(s),
  };
  return [
    ...Object.values(svc.deliveries).flatMap((d) => d.teardown(state, req)),
    ...svc.host.sandboxSteps(state),
    ...Object.values(svc.strategies).flatMap((s) => s.undo(state, req)),
    ...(state.isolation === 'users' && state.user !== undefined ? svc.host.slotSteps(state.slot, state.user, state.key) : []),
    removeCredentialFiles(state, svc.layout),
  ];
}

/** The files deliveries wrote (recorded in the state) and the job's files directory, which the sandbox mounts. */
export function removeCredentialFiles(state: JobState, layout: StateLayout): UndoStep {
  return {
    name: 'remove credential files',
    run: async () => {
      for (const f of state.files) await scrubPath(f);
      await scrubPath(jobFilesDir(layout, state.key));
    },
  };
}
