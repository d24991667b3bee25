// The nftables rule that lets only the job's own user reach its credentials endpoint: any other uid's SYN is reset by the kernel.

import { isJobKey } from '../state/job-store.js';
import { describeFailure, runCommand, type CommandRunner } from './command.js';

/** Where a job's rule lives: one chain per job, in a table of its own (the IMDS table is replaced whole by host init). */
export interface EndpointFence {
  table: string;
  chain: string;
}

const CHAIN_PREFIX = 'job_';

/** The endpoints' table beside [driver].firewall_table. */
export function endpointFenceTable(firewallTable: string): string {
  if (!/^[a-zA-Z_][a-zA-Z0-9_-]{0,30}$/.test(firewallTable)) throw new Error(`invalid nft table name "${firewallTable}"`);
  return `${firewallTable}_ep`;
}

export function endpointFenceFor(firewallTable: string, jobKey: string): EndpointFence {
  if (!isJobKey(jobKey)) throw new Error(`invalid job key "${jobKey}" for an endpoint fence`);
  return { table: endpointFenceTable(firewallTable), chain: `${CHAIN_PREFIX}${jobKey.replace('-', '_')}` };
}

/** The job key a chain of the endpoints' table belongs to; undefined for anything else. */
export function jobKeyOfChain(chain: string): string | undefined {
  const m = /^job_(\d+)_([0-9a-f]+)$/.exec(chain);
  const key = m === null ? undefined : `${m[1]}-${m[2]}`;
  return key !== undefined && isJobKey(key) ? key : undefined;
}

/**
 * An `nft -f` script (one transaction, idempotent) that resets every TCP connection to 127.0.0.1:<port> whose
 * socket does not belong to `uid`, root's included: the endpoint never sees them, whatever its descriptor limit.
 */
export function endpointFenceScript(fence: EndpointFence, opts: { port: number; uid: number }): string {
  const { port, uid } = opts;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid endpoint port ${port}`);
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`invalid job uid ${uid} for an endpoint fence`);
  const { table, chain } = fence;
  return [
    `table inet ${table} {}`,
    `chain inet ${table} ${chain} { type filter hook output priority -1; policy accept; }`,
    `flush chain inet ${table} ${chain}`,
    `add rule inet ${table} ${chain} ip daddr 127.0.0.1 tcp dport ${port} meta skuid != ${uid} counter reject with tcp reset`,
    '',
  ].join('\n');
}

export async function installEndpointFence(fence: EndpointFence, opts: { port: number; uid: number }, run: CommandRunner = runCommand): Promise<void> {
  const r = await run('nft', ['-f', '-'], { input: endpointFenceScript(fence, opts) });
  if (r.exitCode !== 0) throw new Error(`installing the firewall rule of the job's credentials endpoint: ${describeFailure('nft', ['-f', '-'], r)}`);
}

/**
 * Removes the job's chain in one transaction; a chain (or table) that is not there is already removed: `add`
 * makes the names exist (an empty regular chain, or nothing new) so the flush and delete cannot fail on them.
 */
export async function removeEndpointFence(fence: EndpointFence, run: CommandRunner = runCommand): Promise<void> {
  const { table, chain } = fence;
  const script = [
    `add table inet ${table}`,
    `add chain inet ${table} ${chain}`,
    `flush chain inet ${table} ${chain}`,
    `delete chain inet ${table} ${chain}`,
    '',
  ].join('\n');
  const r = await run('nft', ['-f', '-'], { input: script });
  if (r.exitCode !== 0) throw new Error(`removing the firewall rule of the job's credentials endpoint: ${describeFailure('nft', ['-f', '-'], r)}`);
}

/** The job chains in the endpoints' table (none when the table does not exist). */
export async function listEndpointFences(table: string, run: CommandRunner = runCommand): Promise<EndpointFence[]> {
  const r = await run('nft', ['-j', 'list', 'table', 'inet', table]);
  if (r.exitCode !== 0) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    return [];
  }
  const items = (doc as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) return [];
  const chains: EndpointFence[] = [];
  for (const item of items as unknown[]) {
    const c = (item as { chain?: { table?: unknown; name?: unknown } } | null)?.chain;
    if (c !== undefined && c.table === table && typeof c.name === 'string' && c.name.startsWith(CHAIN_PREFIX)) chains.push({ table, chain: c.name });
  }
  return chains;
}
