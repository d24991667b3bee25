// Makes sure every job user is fenced off IMDS (verify, re-install once if not): the gate in front of a restore.

import type { JobroleConfig } from '../config/types.js';
import type { FirewallDeps, VerifyResult } from './firewall.js';

export interface FenceDeps {
  /** The uids of every job user on this host (default: looked up by slot). */
  jobUids?: () => Promise<number[]>;
  verify?: (uids: number[], fw: FirewallDeps) => Promise<VerifyResult>;
  install?: (uids: number[], fw: FirewallDeps) => Promise<void>;
}

async function allJobUids(config: JobroleConfig): Promise<number[]> {
  const { jobUserName, lookupJobUser } = await import('./users.js');
  const uids: number[] = [];
  for (let slot = 1; slot <= config.driver.slots; slot++) {
    const u = await lookupJobUser(jobUserName(config.driver.job_user_prefix, slot));
    if (u !== undefined) uids.push(u.uid);
  }
  return uids;
}

/**
 * Verifies the IMDS block covers every job user and, if not (a host whose older jobrole opened it for an
 * instance-profile job, or a firewall reload), re-installs it and verifies again. Returns what was done;
 * throws, naming the problem, when the block cannot be confirmed: the caller must then not restore the host's
 * profile, since a job user could read the host's role from IMDS.
 */
export async function ensureImdsFenced(config: JobroleConfig, deps: FenceDeps = {}): Promise<'in place' | 're-installed' | 'no job users'> {
  const firewall = await import('./firewall.js');
  const verify = deps.verify ?? firewall.verifyImdsBlock;
  const install = deps.install ?? firewall.installImdsBlock;
  const uids = await (deps.jobUids ?? (() => allJobUids(config)))();
  if (uids.length === 0) return 'no job users';
  const fw = { table: config.driver.firewall_table };
  const first = await verify(uids, fw);
  if (first.ok) return 'in place';
  try {
    await install(uids, fw);
  } catch (err) {
    throw new Error(`the IMDS block for job users is not in place (${first.problem}) and re-installing it failed: ${(err as Error).message}`, { cause: err });
  }
  const again = await verify(uids, fw);
  if (!again.ok) throw new Error(`the IMDS block for job users is not in place after re-installing it: ${again.problem}`);
  return 're-installed';
}

/**
 * The gate in front of giving the host's role back after a swap: when the job or the config runs job users, the
 * block must hold for every job user of the config and for this job's own user (which a changed config may no
 * longer list). Throws, naming the problem, when it cannot be confirmed.
 */
export async function ensureFencedForRestore(
  config: JobroleConfig,
  job: { isolation: 'users' | 'none'; user?: { uid: number } },
  deps: FenceDeps = {},
): Promise<'in place' | 're-installed' | 'no job users' | 'not needed'> {
  if (job.isolation !== 'users' && config.job.isolation !== 'users') return 'not needed';
  const listed = await (deps.jobUids ?? (() => allJobUids(config)))();
  const uids = [...new Set([...listed, ...(job.user !== undefined ? [job.user.uid] : [])])];
  return ensureImdsFenced(config, { ...deps, jobUids: async () => uids });
}
