// Scrub steps for a slot once its job's sandbox is gone: no process of the slot's user left, then keyrings, dirs and home.

import type { JobroleConfig } from '../config/types.js';
import { slotDirs } from '../config/slot-dirs.js';
import type { JobLog } from '../core/job-log.js';
import type { UndoStep } from '../core/undo-step.js';
import { slotHolders } from '../state/slots.js';
import type { StateLayout } from '../state/job-store.js';
import type { JobUser } from '../state/types.js';

/**
 * The slot's steps, for the job `key` (or for no job: gc on a quarantined slot). If another job holds the
 * slot they do nothing at all. Root only works on the user's trees after the first step has verified that
 * no task of its uid exists anywhere; if that fails, every later step fails too (and the slot is quarantined).
 */
export function slotScrubSteps(config: JobroleConfig, layout: StateLayout, slot: number, user: JobUser, key: string | undefined, log: JobLog): UndoStep[] {
  let verified = false;
  let foreign: string | undefined;
  const needVerified = (what: string) => {
    if (foreign !== undefined) return false;
    if (!verified) throw new Error(`not done: processes of ${user.name} may still exist, so ${what} would race them`);
    return true;
  };
  return [
    {
      name: `make sure no process of ${user.name} is left`,
      run: async () => {
        const holder = (await slotHolders(layout, slot)).find((h) => h.slot === slot)?.holder;
        if (holder !== undefined && holder !== key) {
          foreign = holder;
          log.line(`jobrole: slot ${slot} is held by job ${holder.split('-')[0] ?? holder} now: its user, directories and keyrings are left alone`);
          return;
        }
        const [{ tasksOfUid, describeTasks }, { killUserProcesses }] = await Promise.all([
          import('../isolation/uid-tasks.js'),
          import('../isolation/processes.js'),
        ]);
        let tasks = await tasksOfUid(user.uid);
        if (tasks.length > 0) {
          log.warn(`processes of ${user.name} outside any sandbox: ${describeTasks(tasks)}; ending them`);
          await killUserProcesses(user.uid, { graceMs: 0, maxRounds: 20 });
          tasks = await tasksOfUid(user.uid);
        }
        if (tasks.length > 0) throw new Error(`processes of ${user.name} survived: ${describeTasks(tasks)}`);
        verified = true;
      },
    },
    {
      name: `clear the keyrings of ${user.name}`,
      run: async () => {
        if (!needVerified('clearing its keyrings')) return;
        const { clearKeyrings } = await import('../isolation/keyring.js');
        await clearKeyrings(user);
      },
    },
    {
      // The next job on this slot may be another project's: it inherits no checkout, cache or planted file.
      name: `give slot ${slot} fresh builds and cache directories`,
      run: async () => {
        if (!needVerified('replacing its directories')) return;
        const { replaceWithFreshDir, trashBeside, deleteTrash } = await import('../isolation/slot-dirs.js');
        for (const dir of slotDirs(config, slot)) {
          const results = [await replaceWithFreshDir(user, dir)];
          for (const old of await trashBeside(dir)) if (!results.some((r) => r.leftover === old)) results.push(await deleteTrash(old, user));
          for (const r of results)
            if (r.leftover !== undefined)
              log.warn(`old directory ${r.leftover} of slot ${slot} kept for now (${r.leftoverWhy ?? ''}); "jobrole gc" retries; the slot itself is fresh`);
        }
      },
    },
    {
      name: `reset the home of ${user.name}`,
      run: async () => {
        if (!needVerified('resetting its home')) return;
        const { resetJobHome } = await import('../isolation/home-reset.js');
        const r = await resetJobHome(user);
        for (const p of r.problems) log.warn(p);
      },
    },
  ];
}
