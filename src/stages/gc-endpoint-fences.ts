// gc's part for endpoint firewall rules: a job chain whose job has no state left is removed.

import { listJobKeys } from '../state/job-store.js';
import type { Services } from './services.js';

/**
 * A prepare killed between installing its endpoint's rule and recording it, or state removed by hand, leaves a
 * chain nobody will remove; it only ever blocks a port, but ports are reused. Chains are named after their job
 * key, in this state dir's firewall table, so another driver's jobs on the host are never touched.
 */
export async function removeOrphanEndpointFences(svc: Services): Promise<void> {
  const { config, layout, log } = svc;
  if (config.job.isolation !== 'users') return;
  const { endpointFenceTable, jobKeyOfChain, listEndpointFences, removeEndpointFence } = await import('../isolation/endpoint-fence.js');
  // Chains first, then states: a job records its chain in its state before installing it, so a chain listed
  // here whose state is missing afterwards really has no job (the other order would catch a job starting in between).
  const fences = await listEndpointFences(endpointFenceTable(config.driver.firewall_table));
  const live = new Set(await listJobKeys(layout));
  for (const fence of fences) {
    const key = jobKeyOfChain(fence.chain);
    if (key === undefined || live.has(key)) continue;
    try {
      await removeEndpointFence(fence);
      log.line(`jobrole gc: removed the endpoint firewall rule of job ${key.split('-')[0] ?? key} (its job has no state left)`);
    } catch (err) {
      log.warn(`cannot remove the endpoint firewall rule ${fence.table}/${fence.chain}: ${(err as Error).message}`);
    }
  }
}
