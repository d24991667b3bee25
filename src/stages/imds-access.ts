// Lets one job user through the IMDS firewall for an instance-profile job, and closes it again afterwards.

import type { JobroleConfig } from '../config/types.js';

async function allJobUids(config: JobroleConfig): Promise<number[]> {
  const { jobUserName, lookupJobUser } = await import('../isolation/users.js');
  const uids: number[] = [];
  for (let slot = 1; slot <= config.driver.slots; slot++) {
    const u = await lookupJobUser(jobUserName(config.driver.job_user_prefix, slot));
    if (u !== undefined) uids.push(u.uid);
  }
  return uids;
}

/** Re-installs the block without this uid (or removes the table when it was the only job user). */
export async function openImdsFor(config: JobroleConfig, uid: number): Promise<void> {
  const { installImdsBlock } = await import('../isolation/firewall.js');
  const others = (await allJobUids(config)).filter((u) => u !== uid);
  if (others.length > 0) {
    await installImdsBlock(others, { table: config.driver.firewall_table });
    return;
  }
  const { runCommand } = await import('../isolation/command.js');
  const r = await runCommand('nft', ['delete', 'table', 'inet', config.driver.firewall_table]);
  if (r.exitCode !== 0 && !/No such file/i.test(r.stderr)) throw new Error(`nft delete table inet ${config.driver.firewall_table}: ${r.stderr.trim()}`);
}

/** Puts the block back for every job user. */
export async function closeImds(config: JobroleConfig): Promise<void> {
  const { installImdsBlock } = await import('../isolation/firewall.js');
  const uids = await allJobUids(config);
  if (uids.length > 0) await installImdsBlock(uids, { table: config.driver.firewall_table });
}
