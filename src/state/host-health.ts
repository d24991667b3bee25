// The host's health marker: set when a profile restore failed; while set every job is refused until an operator restores.

import { open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SystemFailure } from '../core/exit-codes.js';

export const HEALTH_FILE = 'host-unhealthy.json';
export const RESTORE_COMMAND = 'jobrole gc --restore';

export type HostHealth = { healthy: true } | { healthy: false; reason: string; since: string };

/** Marks the host unhealthy (0600, atomic). A host already unhealthy keeps its first `since` and gets the newest reason. */
export async function markUnhealthy(stateDir: string, reason: string, now: () => Date = () => new Date()): Promise<void> {
  const before = await readHealth(stateDir);
  const since = before.healthy ? now().toISOString() : before.since;
  const path = join(stateDir, HEALTH_FILE);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify({ reason, since }) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Healthy when there is no marker; a marker that cannot be read counts as unhealthy (fail closed). */
export async function readHealth(stateDir: string): Promise<HostHealth> {
  let text: string;
  try {
    text = await readFile(join(stateDir, HEALTH_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { healthy: true };
    throw err;
  }
  try {
    const v = JSON.parse(text) as { reason?: unknown; since?: unknown };
    if (typeof v.reason === 'string' && typeof v.since === 'string') {
      return { healthy: false, reason: v.reason, since: v.since };
    }
  } catch {
    // fall through
  }
  return { healthy: false, reason: `the health marker ${HEALTH_FILE} is unreadable`, since: '?' };
}

export async function clearUnhealthy(stateDir: string): Promise<void> {
  await unlink(join(stateDir, HEALTH_FILE)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** What an unhealthy host says: since when, why, and (once) how to get back; the reason may already say how. */
export function unhealthyText(health: Extract<HostHealth, { healthy: false }>): string {
  const reason = health.reason.trim().replace(/\.+$/, '');
  const how = reason.includes(RESTORE_COMMAND) ? '' : ` It refuses jobs until an operator fixes it and runs \`${RESTORE_COMMAND}\`.`;
  return `this host is marked unhealthy since ${health.since}: ${reason}.${how}`;
}

/** Throws the system failure every job gets while the host is unhealthy. */
export async function refuseIfUnhealthy(stateDir: string): Promise<void> {
  const health = await readHealth(stateDir);
  if (health.healthy) return;
  throw new SystemFailure(unhealthyText(health));
}
