// Slots whose scrub failed: refused to new jobs until a scrub (gc) succeeds, with one owner per retry; shown by doctor.

import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StateLayout } from './job-store.js';
import { writeFileAtomic } from '../core/secure-fs.js';
import { claimOwnerFile, releaseOwnerFile, type OwnerClaim } from './scrub-owner.js';

export interface Quarantine {
  slot: number;
  /** The job whose scrub failed (its state, if still there, is what gc retries). */
  key: string | undefined;
  since: string;
  /** What failed, for the operator. */
  reason: string;
}

function file(layout: StateLayout, slot: number): string {
  if (!Number.isInteger(slot) || slot < 1) throw new Error(`invalid slot ${String(slot)}`);
  return join(layout.slots, `${slot}.quarantine`);
}

export async function quarantineSlot(layout: StateLayout, slot: number, key: string | undefined, reason: string): Promise<void> {
  const q: Quarantine = { slot, key, since: new Date().toISOString(), reason: reason.slice(0, 2000) };
  await writeFileAtomic(file(layout, slot), `${JSON.stringify(q)}\n`, 0o600);
}

export async function readQuarantine(layout: StateLayout, slot: number): Promise<Quarantine | undefined> {
  try {
    return JSON.parse(await readFile(file(layout, slot), 'utf8')) as Quarantine;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unreadable marker: still quarantined, with a reason that says so.
    return { slot, key: undefined, since: '?', reason: `quarantine marker unreadable (${(err as Error).message})` };
  }
}

export async function liftQuarantine(layout: StateLayout, slot: number): Promise<void> {
  await unlink(file(layout, slot)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

export async function quarantinedSlots(layout: StateLayout): Promise<Quarantine[]> {
  const names = await readdir(layout.slots).catch(() => [] as string[]);
  const out: Quarantine[] = [];
  for (const n of names) {
    const m = /^(\d+)\.quarantine$/.exec(n);
    if (m !== null) {
      const q = await readQuarantine(layout, Number(m[1]));
      if (q !== undefined) out.push(q);
    }
  }
  return out.sort((a, b) => a.slot - b.slot);
}

export function describeQuarantine(q: Quarantine): string {
  return `slot ${q.slot} is quarantined since ${q.since}${q.key !== undefined ? ` (job ${q.key.split('-')[0] ?? q.key})` : ''}: ${q.reason}`;
}

function scrubClaimFile(layout: StateLayout, slot: number): string {
  if (!Number.isInteger(slot) || slot < 1) throw new Error(`invalid slot ${String(slot)}`);
  return join(layout.slots, `${slot}.scrub`);
}

/**
 * Becomes the one process retrying the scrub of a quarantined slot (slots/N.scrub: pid + start time, taken
 * over only from a dead owner), or returns the live process that is. Held for the whole retry, lift included.
 */
export function claimSlotScrub(layout: StateLayout, slot: number): Promise<OwnerClaim> {
  return claimOwnerFile(scrubClaimFile(layout, slot));
}

export function releaseSlotScrub(layout: StateLayout, slot: number): Promise<void> {
  return releaseOwnerFile(scrubClaimFile(layout, slot));
}
