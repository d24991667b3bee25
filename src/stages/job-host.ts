// The real JobHost: job users, sandboxes and process checks on this machine (isolation/ does the work).

import type { JobroleConfig } from '../config/types.js';
import type { JobLog } from '../core/job-log.js';
import type { StateLayout } from '../state/job-store.js';
import { jobLiveness } from '../state/liveness.js';
import type { JobHost } from './services.js';
import { prepareIsolation } from './prepare-isolation.js';
import { slotScrubSteps } from './scrub-slot.js';

export function realJobHost(config: JobroleConfig, layout: StateLayout, log: JobLog): JobHost {
  return {
    prepareUser: (slot) => prepareIsolation(config, slot, log),
    lookupUser: async (slot) => {
      const { jobUserName, lookupJobUser } = await import('../isolation/users.js');
      return lookupJobUser(jobUserName(config.driver.job_user_prefix, slot));
    },
    startSandbox: async (state, user, persist) => {
      const { prepareSandbox } = await import('./prepare-sandbox.js');
      await prepareSandbox(config, layout, state, user, persist, log);
    },
    sandboxSteps: (state) => {
      const sandbox = state.sandbox;
      if (sandbox === undefined) return [];
      return [
        {
          // The kernel ends every process in the job's PID namespace when its init dies: nothing outlives this.
          name: "end the job's sandbox",
          run: async () => {
            const { stopSandbox } = await import('../isolation/sandbox.js');
            const outcome = await stopSandbox(sandbox);
            log.line(`jobrole: sandbox of job ${state.job.id} (init ${sandbox.initPid}) ${outcome === 'stopped' ? 'ended' : 'was no longer running'}`);
          },
        },
      ];
    },
    slotSteps: (slot, user, key) => slotScrubSteps(config, layout, slot, user, key, log),
    fenceForRestore: async (state) => {
      const { ensureFencedForRestore } = await import('../isolation/imds-fence.js');
      return ensureFencedForRestore(config, state);
    },
    liveness: (state) => jobLiveness(state),
  };
}
