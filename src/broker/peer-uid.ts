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

/**
 * A read of `file` that started after the call. Concurrent lookups share one read instead of each parsing a
 * table that, on a busy host, holds tens of thousands of TIME_WAIT entries.
 */
function freshReader(read: () => Promise<string>): () => Promise<string> {
  let running: Promise<string> | undefined;
  let queued: Promise<string> | undefined;
  const start = (): Promise<string> => (running = read().finally(() => (running = undefined)));
  return () => {
    if (running === undefined) return start();
    queued ??= running.catch(() => '').then(() => {
      queued = undefined;
      return running ?? start();
    });
    return queued;
  };
}

const readers = new Map<string, () => Promise<string>>();
function readTable(path: string): Promise<string> {
  let r = readers.get(path);
  if (r === undefined) {
    r = freshReader(() => readFile(path, 'utf8'));
    readers.set(path, r);
  }
  return r();
}

/** uids of ESTABLISHED (st 01) lines whose local and remote address:port are exactly the given ones. */
function uidsIn(text: string, local: string, remote: string): number[] {
  const needle = `: ${local} ${remote} 01 `;
  const uids: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) {
    const eol = text.indexOf('\n', i);
    // after the state: tx:rx, tr:when, retrnsmt, uid
    const uid = Number(text.slice(i + needle.length, eol === -1 ? undefined : eol).trim().split(/\s+/)[3]);
    if (Number.isInteger(uid)) uids.push(uid);
  }
  return uids;
}

/**
 * uid of the socket whose local end is the client's remote:remotePort and whose remote end is our
 * local:localPort (both default 127.0.0.1), among ESTABLISHED entries of this network namespace.
 * undefined when there is no such entry, or when entries disagree (fail closed).
 */
export async function resolvePeerUidFromProc(
  remotePort: number,
  localPort: number,
  addresses: { remote: string; local: string } = { remote: '127.0.0.1', local: '127.0.0.1' },
  procRoot = '/proc',
): Promise<number | undefined> {
  const client = procForms(addresses.remote);
  const server = procForms(addresses.local);
  const uids = new Set<number>();
  for (const table of ['tcp', 'tcp6'] as const) {
    const c = client[table];
    const s = server[table];
    if (c === undefined || s === undefined) continue;
    let text: string;
    try {
      text = await readTable(`${procRoot}/net/${table}`);
    } catch {
      continue;
    }
    for (const uid of uidsIn(text, `${c}:${port(remotePort)}`, `${s}:${port(localPort)}`)) uids.add(uid);
    if (uids.size > 0) break;
  }
  return uids.size === 1 ? [...uids][0] : undefined;
}
