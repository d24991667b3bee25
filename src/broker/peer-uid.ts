// Finds which uid owns the client end of a loopback TCP connection, from /proc/net/tcp and /proc/net/tcp6.

import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';

interface TcpEntry {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: string;
  uid: number;
}

const ESTABLISHED = '01';

/** One /proc 32-bit word (printed in host byte order) to its 4 network-order bytes. */
function wordBytes(hex: string): number[] {
  const bytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return endianness() === 'LE' ? bytes.reverse() : bytes;
}

/** "0100007F" or a 32-hex-digit tcp6 address to "127.0.0.1" (v4-mapped v6 addresses too) or a plain v6 string. */
export function decodeProcAddress(hex: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < hex.length; i += 8) bytes.push(...wordBytes(hex.slice(i, i + 8)));
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return '::1';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

export function parseProcNetTcp(text: string): TcpEntry[] {
  const entries: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [la, lp] = f[1]!.split(':');
    const [ra, rp] = f[2]!.split(':');
    if (la === undefined || lp === undefined || ra === undefined || rp === undefined) continue;
    entries.push({
      localAddress: decodeProcAddress(la),
      localPort: parseInt(lp, 16),
      remoteAddress: decodeProcAddress(ra),
      remotePort: parseInt(rp, 16),
      state: f[3]!,
      uid: Number(f[7]),
    });
  }
  return entries;
}

function plainV4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * uid of the socket whose local end is the client's (address:)remotePort and whose remote end is our
 * (address:)localPort, among ESTABLISHED entries of this network namespace. undefined when there is no such
 * entry or when two entries disagree (fail closed). Addresses are compared when given.
 */
export async function resolvePeerUidFromProc(
  remotePort: number,
  localPort: number,
  addresses?: { remote: string; local: string },
  procRoot = '/proc',
): Promise<number | undefined> {
  const uids = new Set<number>();
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = await readFile(`${procRoot}/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const e of parseProcNetTcp(text)) {
      if (e.state !== ESTABLISHED || e.localPort !== remotePort || e.remotePort !== localPort) continue;
      if (addresses !== undefined) {
        if (e.localAddress !== plainV4(addresses.remote) || e.remoteAddress !== plainV4(addresses.local)) continue;
      }
      uids.add(e.uid);
    }
    if (uids.size > 0) break;
  }
  return uids.size === 1 ? [...uids][0] : undefined;
}
