// Finds which uid owns the client end of a loopback TCP connection, from /proc/net/tcp and /proc/net/tcp6.

import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { isIPv4 } from 'node:net';

const LE = endianness() === 'LE';

/** One /proc 32-bit word (printed in host byte order) to its 4 network-order bytes. */
function wordBytes(hex: string): number[] {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return LE ? bytes.reverse() : bytes;
}

function bytesWord(bytes: number[]): string {
  return (LE ? [...bytes].reverse() : bytes).map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}

/** "0100007F" or a 32-hex-digit tcp6 address to "127.0.0.1" (v4-mapped v6 addresses too), "::1", or a full v6 form. */
export function decodeProcAddress(hex: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < hex.length; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8)));
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return '::1';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** How `address` is printed in net/tcp (v4 only) and net/tcp6 (v4-mapped, or ::1). */
function procForms(address: string): { tcp?: string; tcp6?: string } {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(a)) {
    const v4 = a.split('.').map(Number);
    return { tcp: bytesWord(v4), tcp6: '0'.repeat(16) + bytesWord([0, 0, 0xff, 0xff]) + bytesWord(v4) };
  }
  if (a === '::1') return { tcp6: '0'.repeat(24) + bytesWord([0, 0, 0, 1]) };
  return {};
}

const port = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');

/** One lookup: the client's end (remote) of a connection accepted on our local address:port. */
export interface PeerQuery {
  remote: string;
  remotePort: number;
  local: string;
  localPort: number;
}

/**
 * Client ends of ESTABLISHED (st 01) connections to `server` (our address:port as printed in the table):
 * "address:port" of the client -> the uids its entries name. One pass over the table, however many clients.
 */
export function clientEnds(text: string, server: string): Map<string, Set<number>> {
  const needle = ` ${server} 01 `;
  const ends = new Map<string, Set<number>>();
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) {
    const bol = text.lastIndexOf('\n', i) + 1;
    const eol = text.indexOf('\n', i);
    // "  sl: local remote st tx:rx tr:when retrnsmt uid ..."; the client's end is the local column of its line
    const before = text.slice(bol, i).trim().split(/\s+/);
    const client = before[before.length - 1];
    const uid = Number(
      text
        .slice(i + needle.length, eol === -1 ? undefined : eol)
        .trim()
        .split(/\s+/)[3],
    );
    if (client === undefined || !Number.isInteger(uid)) continue;
    let uids = ends.get(client);
    if (uids === undefined) ends.set(client, (uids = new Set()));
    uids.add(uid);
  }
  return ends;
}

type Read = (path: string) => Promise<string>;

/** Resolves every query with one read of each table (tcp, then tcp6 for what tcp did not show). */
async function resolveBatch(queries: PeerQuery[], procRoot: string, read: Read): Promise<Array<number | undefined>> {
  const found: Array<Set<number> | undefined> = queries.map(() => undefined);
  for (const table of ['tcp', 'tcp6'] as const) {
    const open = queries
      .map((q, i) => ({ i, client: procForms(q.remote)[table], server: procForms(q.local)[table], q }))
      .filter((o) => found[o.i] === undefined && o.client !== undefined && o.server !== undefined);
    if (open.length === 0) continue;
    let text: string;
    try {
      text = await read(`${procRoot}/net/${table}`);
    } catch {
      continue;
    }
    const byServer = new Map<string, Map<string, Set<number>>>();
    for (const o of open) {
      const server = `${o.server}:${port(o.q.localPort)}`;
      let ends = byServer.get(server);
      if (ends === undefined) byServer.set(server, (ends = clientEnds(text, server)));
      const uids = ends.get(`${o.client}:${port(o.q.remotePort)}`);
      if (uids !== undefined) found[o.i] = uids;
    }
  }
  // No entry, or entries that disagree: unknown (the caller fails closed).
  return found.map((uids) => (uids !== undefined && uids.size === 1 ? [...uids][0] : undefined));
}

export type PeerUidLookup = (query: PeerQuery) => Promise<number | undefined>;

/**
 * A lookup that batches: every query waits for a read of the tables that *starts after* it was asked (so the
 * connection it names is in it), and all queries waiting together share that one read and one pass over it.
 * Under a connection flood the cost is one table read per batch, not one per connection; on a busy host the
 * table holds tens of thousands of entries.
 */
export function batchedPeerUidLookup(procRoot = '/proc', read: Read = (p) => readFile(p, 'utf8')): PeerUidLookup {
  let queue: Array<{ query: PeerQuery; resolve: (uid: number | undefined) => void }> = [];
  let running = false;
  const drain = async (): Promise<void> => {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        const uids = await resolveBatch(
          batch.map((b) => b.query),
          procRoot,
          read,
        ).catch(() => batch.map(() => undefined));
        batch.forEach((b, i) => b.resolve(uids[i]));
      }
    } finally {
      running = false;
    }
  };
  return (query) =>
    new Promise((resolve) => {
      queue.push({ query, resolve });
      if (!running) void drain();
    });
}

const lookups = new Map<string, PeerUidLookup>();

/**
 * uid of the socket whose local end is the client's remote:remotePort and whose remote end is our
 * local:localPort (both default 127.0.0.1), among ESTABLISHED entries of this network namespace.
 * undefined when there is no such entry, or when entries disagree (fail closed).
 */
export function resolvePeerUidFromProc(
  remotePort: number,
  localPort: number,
  addresses: { remote: string; local: string } = { remote: '127.0.0.1', local: '127.0.0.1' },
  procRoot = '/proc',
): Promise<number | undefined> {
  let lookup = lookups.get(procRoot);
  if (lookup === undefined) lookups.set(procRoot, (lookup = batchedPeerUidLookup(procRoot)));
  return lookup({ remote: addresses.remote, remotePort, local: addresses.local, localPort });
}
