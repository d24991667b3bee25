// Concurrent job slots: each running job holds one (an exclusive lock file), and with it one job user.

import { constants } from 'node:fs';
import { mkdir, open, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemFailure } from '../core/exit-codes.js';
import type { StateLayout } from './job-store.js';
import { describeQuarantine, readQuarantine, type Quarantine } from './quarantine.js';

function slotFile(layout: StateLayout, slot: number): string {
  return join(layout.slots, `${slot}.lock`);
}

async function holderOf(layout: StateLayout, slot: number): Promise<string | undefined> {
  try {
    return (await readFile(slotFile(layout, slot), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function tryCreate(layout: StateLayout, slot: number, key: string): Promise<boolean> {
  try {
    const fh = await open(slotFile(layout, slot), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    await fh.writeFile(`${key}\n`);
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A takeover guard older than this was left by a crashed process and is cleared. */
const GUARD_STALE_MS = 30_000;

/**
 * Replaces a dead holder's claim. Two jobs may find the same dead holder at once: an exclusive guard directory
 * makes exactly one of them re-check the holder and swap the claim, so a slot never gets two live jobs.
 */
async function takeOver(layout: StateLayout, slot: number, deadHolder: string, key: string): Promise<boolean> {
  const guard = join(layout.slots, `${slot}.takeover`);
  try {
    await mkdir(guard, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = await stat(guard).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > GUARD_STALE_MS) await rmdir(guard).catch(() => undefined);
    return false;
  }
  try {
    if ((await holderOf(layout, slot)) !== deadHolder) return false;
    await unlink(slotFile(layout, slot)).catch(() => undefined);
    return await tryCreate(layout, slot, key);
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

/**
 * Claims the lowest free slot for the job. A slot whose holder is no longer a live job (isLive says so) is
 * taken over. All busy → SystemFailure (the runner retries; the operator should match slots to the runner's limit).
 */
export async function claimSlot(
  layout: StateLayout,
  slots: number,
  key: string,
  isLive: (holderKey: string) => Promise<boolean>,
  onQuarantined: (q: Quarantine) => void = () => {},
): Promise<number> {
  const quarantined: Quarantine[] = [];
  for (let slot = 1; slot <= slots; slot++) {
    const q = await readQuarantine(layout, slot);
    if (q !== undefined) {
      // A slot whose scrub failed is never handed out: it may hold the last job's processes or files.
      quarantined.push(q);
      onQuarantined(q);
      continue;
    }
    if (await tryCreate(layout, slot, key)) return slot;
    const holder = await holderOf(layout, slot);
    if (holder === key) return slot;
    if (holder !== undefined && !(await isLive(holder)) && (await takeOver(layout, slot, holder, key))) return slot;
  }
  if (quarantined.length > 0) {
    throw new SystemFailure(
      `no job slot is free on this host: ${quarantined.map(describeQuarantine).join('; ')}. Fix the cause, then run "jobrole gc" (it retries the scrub and lifts the quarantine); "jobrole doctor" shows the slots`,
    );
  }
  const holders = (await slotHolders(layout, slots)).map((h) => h.holder).filter((h): h is string => h !== undefined);
  const jobs = holders.map((h) => `job ${h.split('-')[0] ?? h}`).join(', ');
  throw new SystemFailure(
    `all ${slots} job slot${slots === 1 ? '' : 's'} on this host ${slots === 1 ? 'is' : 'are'} busy (${jobs || 'held'}); the runner retries. ` +
      (slots === 1
        ? 'This host runs one job at a time ([driver].slots = 1): set the runner\'s "limit" to 1 too.'
        : 'If the runner\'s "limit" is above [driver].slots, raise slots and run "jobrole host init".'),
  );
}

/** Releases the slot if this job still holds it. */
export async function releaseSlot(layout: StateLayout, slot: number, key: string): Promise<void> {
  if ((await holderOf(layout, slot)) === key) await unlink(slotFile(layout, slot)).catch(() => undefined);
}

export async function slotHolders(layout: StateLayout, slots: number): Promise<Array<{ slot: number; holder: string | undefined }>> {
  const out = [];
  for (let slot = 1; slot <= slots; slot++) out.push({ slot, holder: await holderOf(layout, slot) });
  return out;
}
