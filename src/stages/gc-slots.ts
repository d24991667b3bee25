// gc's part for slots: retry the scrub of quarantined slots whose job is gone, and delete old slot directories left behind.

import { join } from 'node:path';
import { readJobState } from '../state/job-store.js';
import { describeQuarantine, liftQuarantine, quarantinedSlots, quarantineSlot } from '../state/quarantine.js';
import { releaseSlot, slotHolders } from '../state/slots.js';
import { slotDirs } from './scrub-slot.js';
import type { Services } from './services.js';

export interface SlotGcReport {
  lifted: number[];
  stillQuarantined: number[];
}

/**
 * A quarantined slot whose job state is gone (or never was) gets the slot steps of a scrub again; when they
 * all pass, the quarantine is lifted and the slot released. A slot another live job holds is never touched.
 */
export async function retryQuarantinedSlots(svc: Services): Promise<SlotGcReport> {
  const { config, layout, log } = svc;
  const report: SlotGcReport = { lifted: [], stillQuarantined: [] };
  if (config.job.isolation !== 'users') return report;
  for (const q of await quarantinedSlots(layout)) {
    if (q.slot > config.driver.slots) continue;
    if (q.key !== undefined && (await readJobState(layout, q.key).catch(() => 'unreadable')) !== undefined) {
      // Its job's state is still there: the job loop above retries the whole scrub.
      report.stillQuarantined.push(q.slot);
      continue;
    }
    const holder = (await slotHolders(layout, q.slot)).find((h) => h.slot === q.slot)?.holder;
    if (holder !== undefined && holder !== q.key && (await readJobState(layout, holder).catch(() => 'unreadable')) !== undefined) {
      report.stillQuarantined.push(q.slot);
      continue;
    }
    const user = await svc.host.lookupUser(q.slot);
    if (user === undefined) {
      log.warn(`${describeQuarantine(q)}; its job user does not exist: run "jobrole host init"`);
      report.stillQuarantined.push(q.slot);
      continue;
    }
    const failures: string[] = [];
    for (const step of svc.host.slotSteps(q.slot, user, holder)) {
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.name}: ${(err as Error).message}`);
      }
    }
    if (failures.length === 0) {
      await liftQuarantine(layout, q.slot);
      if (holder !== undefined) await releaseSlot(layout, q.slot, holder);
      log.line(`jobrole gc: slot ${q.slot} scrubbed again and released (it was quarantined: ${q.reason})`);
      report.lifted.push(q.slot);
    } else {
      await quarantineSlot(layout, q.slot, q.key, failures.join('; '));
      log.warn(`gc could not scrub quarantined slot ${q.slot}: ${failures.join('; ')}`);
      report.stillQuarantined.push(q.slot);
    }
  }
  return report;
}

/** Old builds/cache/home directories that could not be deleted at cleanup (another user's entries), for free slots. */
export async function deleteLeftoverTrash(svc: Services): Promise<void> {
  const { config, layout, log } = svc;
  if (config.job.isolation !== 'users') return;
  const [{ jobUserName, lookupJobUser }, { trashBeside, deleteTrash }] = await Promise.all([
    import('../isolation/users.js'),
    import('../isolation/slot-dirs.js'),
  ]);
  for (const { slot, holder } of await slotHolders(layout, config.driver.slots)) {
    if (holder !== undefined) continue;
    const name = jobUserName(config.driver.job_user_prefix, slot);
    const olds: string[] = [];
    for (const dir of [...slotDirs(config, slot), join(config.driver.home_dir, name)]) olds.push(...(await trashBeside(dir)));
    if (olds.length === 0) continue;
    const user = await lookupJobUser(name).catch(() => undefined);
    if (user === undefined) continue;
    {
      for (const old of olds) {
        const r = await deleteTrash(old, user).catch((err: Error) => ({ leftover: old, leftoverWhy: err.message }));
        if (r.leftover !== undefined) log.warn(`old directory ${r.leftover} of slot ${slot} still kept: ${r.leftoverWhy ?? ''}`);
        else log.line(`jobrole gc: deleted old directory ${old} of slot ${slot}`);
      }
    }
  }
}

/**
 * Job cgroups of this state dir whose job has no state any more (its cleanup never got to the sandbox: a
 * prepare killed between starting the init and recording it, say): everything in them is killed, the group
 * removed. Groups are named <state dir tag>.<job key>, so another driver's jobs on the host are never touched.
 */
export async function endOrphanSandboxes(svc: Services): Promise<void> {
  const { config, layout, log } = svc;
  if (config.job.isolation !== 'users') return;
  const [{ detectCgroup2, jobCgroups, killAndRemoveCgroup, stateDirTag }, { listJobKeys }] = await Promise.all([
    import('../isolation/cgroup.js'),
    import('../state/job-store.js'),
  ]);
  const cg = await detectCgroup2();
  if (cg === undefined) return;
  const prefix = `${stateDirTag(config.driver.state_dir)}.`;
  const live = new Set(await listJobKeys(layout));
  for (const [name, dir] of await jobCgroups(cg)) {
    if (!name.startsWith(prefix) || live.has(name.slice(prefix.length))) continue;
    try {
      await killAndRemoveCgroup(dir);
      log.warn(`ended an orphaned sandbox (cgroup ${dir}): its job had no state left`);
    } catch (err) {
      log.warn(`cannot end the orphaned sandbox in ${dir}: ${(err as Error).message}`);
    }
  }
}
