// gc's part for slots: retry the scrub of quarantined slots whose job is gone, and delete old slot directories left behind.

import { join } from 'node:path';
import { readJobState } from '../state/job-store.js';
import {
  claimSlotScrub,
  describeQuarantine,
  liftQuarantine,
  quarantinedSlots,
  quarantineSlot,
  readQuarantine,
  releaseSlotScrub,
  type Quarantine,
} from '../state/quarantine.js';
import { releaseSlot, slotHolders } from '../state/slots.js';
import { slotDirs } from '../config/slot-dirs.js';
import type { Services } from './services.js';

export interface SlotGcReport {
  lifted: number[];
  stillQuarantined: number[];
}

/** What gc saw of a quarantined slot before it claimed its scrub: acted on only if still so once claimed. */
export interface SlotSeen {
  q: Quarantine;
  holder: string | undefined;
}

const stateLeft = async (svc: Services, key: string) => (await readJobState(svc.layout, key).catch(() => 'unreadable')) !== undefined;
const holderOf = async (svc: Services, slot: number) => (await slotHolders(svc.layout, slot)).find((h) => h.slot === slot)?.holder;

/**
 * A quarantined slot whose job state is gone (or never was) gets the slot steps of a scrub again; when they
 * all pass, the quarantine is lifted and the slot released. A slot another live job holds is never touched.
 */
export async function retryQuarantinedSlots(svc: Services): Promise<SlotGcReport> {
  const { config, layout } = svc;
  const report: SlotGcReport = { lifted: [], stillQuarantined: [] };
  if (config.job.isolation !== 'users') return report;
  for (const q of await quarantinedSlots(layout)) {
    if (q.slot > config.driver.slots) continue;
    const outcome = await retryQuarantinedSlot(svc, { q, holder: await holderOf(svc, q.slot) });
    if (outcome === 'lifted') report.lifted.push(q.slot);
    else if (outcome === 'kept') report.stillQuarantined.push(q.slot);
  }
  return report;
}

/**
 * One slot's retry, under its scrub claim (held through the steps, the lift and the release): two gc runs
 * never scrub one slot at once, and once claimed the slot is re-read, so a quarantine another run lifted
 * (and a job that claimed the slot since) is left alone. 'gone' = nothing to do any more.
 */
export async function retryQuarantinedSlot(svc: Services, seen: SlotSeen): Promise<'lifted' | 'kept' | 'gone'> {
  const { layout, log } = svc;
  const { slot } = seen.q;
  // Its job's state is still there: the job loop retries the whole scrub. Or another job holds the slot.
  if (seen.q.key !== undefined && (await stateLeft(svc, seen.q.key))) return 'kept';
  if (seen.holder !== undefined && seen.holder !== seen.q.key && (await stateLeft(svc, seen.holder))) return 'kept';
  const claim = await claimSlotScrub(layout, slot);
  if (!claim.ok) {
    log.line(`jobrole gc: slot ${slot} is being scrubbed by process ${claim.owner.pid}; left to it`);
    return 'kept';
  }
  try {
    const q = await readQuarantine(layout, slot);
    if (q === undefined) return 'gone';
    if (JSON.stringify(q) !== JSON.stringify(seen.q) || (await holderOf(svc, slot)) !== seen.holder) {
      log.line(`jobrole gc: slot ${slot} changed while gc looked at it; left for the next gc`);
      return 'kept';
    }
    return await scrubQuarantined(svc, q, seen.holder);
  } finally {
    await releaseSlotScrub(layout, slot);
  }
}

async function scrubQuarantined(svc: Services, q: Quarantine, holder: string | undefined): Promise<'lifted' | 'kept'> {
  const { layout, log } = svc;
  const user = await svc.host.lookupUser(q.slot);
  if (user === undefined) {
    log.warn(`${describeQuarantine(q)}; its job user does not exist: run "jobrole host init"`);
    return 'kept';
  }
  const failures: string[] = [];
  for (const step of svc.host.slotSteps(q.slot, user, holder)) {
    try {
      await step.run();
    } catch (err) {
      failures.push(`${step.name}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) {
    await quarantineSlot(layout, q.slot, q.key, failures.join('; '));
    log.warn(`gc could not scrub quarantined slot ${q.slot}: ${failures.join('; ')}`);
    return 'kept';
  }
  await liftQuarantine(layout, q.slot);
  if (holder !== undefined) await releaseSlot(layout, q.slot, holder);
  log.line(`jobrole gc: slot ${q.slot} scrubbed again and released (it was quarantined: ${q.reason})`);
  return 'lifted';
}

/**
 * Old builds/cache/home directories that could not be deleted at cleanup (another user's entries), for free
 * slots. It walks whole trees and scans /proc per foreign owner: `jobrole gc` runs it, the sweep before a job does not.
 */
export async function deleteLeftoverTrash(svc: Services): Promise<void> {
  const { config, layout, log } = svc;
  if (config.job.isolation !== 'users') return;
  const [{ jobUserName }, { trashBeside, deleteTrash }] = await Promise.all([import('../isolation/users.js'), import('../isolation/slot-dirs.js')]);
  for (const { slot, holder } of await slotHolders(layout, config.driver.slots)) {
    if (holder !== undefined) continue;
    const name = jobUserName(config.driver.job_user_prefix, slot);
    const olds: string[] = [];
    for (const dir of [...slotDirs(config, slot), join(config.driver.home_dir, name)]) olds.push(...(await trashBeside(dir)));
    if (olds.length === 0) continue;
    const user = await svc.host.lookupUser(slot).catch(() => undefined);
    if (user === undefined) continue;
    for (const old of olds) {
      const r = await deleteTrash(old, user).catch((err: Error) => ({ leftover: old, leftoverWhy: err.message }));
      if (r.leftover !== undefined) log.warn(`old directory ${r.leftover} of slot ${slot} still kept: ${r.leftoverWhy ?? ''}`);
      else log.line(`jobrole gc: deleted old directory ${old} of slot ${slot}`);
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
