// Tests the gate's sizing from the descriptor limit and the batched /proc peer-uid lookup.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GATE_LIMITS, openFileLimit, pendingCapFor } from '../../src/broker/connection-gate.js';
import { batchedPeerUidLookup, clientEnds, decodeProcAddress } from '../../src/broker/peer-uid.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('connection gate sizing', () => {
  test('reads the soft open-files limit', () => {
    assert.equal(openFileLimit(LIMITS), 1024);
    assert.equal(openFileLimit(LIMITS.replace('1024 ', 'unlimited ')), Number.MAX_SAFE_INTEGER);
    assert.equal(openFileLimit('garbage'), undefined);
    assert.ok((openFileLimit() ?? 0) > 0, 'this process has a limit /proc shows');
  });

  test("keeps the pending cap below the descriptors left after every uid's admitted room", () => {
    assert.equal(pendingCapFor(1024, 1, 256), 1024 - 256 - 64);
    assert.equal(pendingCapFor(1_048_576, 1, 256), DEFAULT_GATE_LIMITS.maxPending);
    assert.equal(pendingCapFor(undefined, 1, 256), DEFAULT_GATE_LIMITS.maxPending);
    assert.equal(pendingCapFor(200, 2, 256), 16, 'never below a small floor');
  });
});

describe('batched peer uid lookup', () => {
  const le = decodeProcAddress('0100007F') === '127.0.0.1';
  const a = le ? '0100007F' : '7F000001';
  const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const row = (i: number, local: string, remote: string, st: string, uid: number): string =>
    `${String(i).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${i} 1 0\n`;
  const hex = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');

  test('clientEnds maps every client of one server port to its uids in one pass', () => {
    const text =
      head +
      row(0, `${a}:1F90`, '00000000:0000', '0A', 0) +
      row(1, `${a}:C350`, `${a}:1F90`, '01', 1001) +
      row(2, `${a}:1F90`, `${a}:C350`, '01', 0) +
      row(3, `${a}:C351`, `${a}:1F90`, '06', 0) +
      row(4, `${a}:C352`, `${a}:1F91`, '01', 1002);
    const ends = clientEnds(text, `${a}:1F90`);
    assert.deepEqual(
      [...ends.entries()].map(([k, v]) => [k, [...v]]),
      [[`${a}:C350`, [1001]]],
      'only ESTABLISHED client ends of port 8080',
    );
  });

  test('queries asked together share one read of the table, and a later query waits for a fresh read', async () => {
    const clients = Array.from({ length: 500 }, (_, i) => 40000 + i);
    let table = head + clients.map((p, i) => row(i, `${a}:${hex(p)}`, `${a}:1F90`, '01', 3000 + (i % 2))).join('');
    const reads: string[] = [];
    let release: () => void = () => {};
    const read = async (path: string): Promise<string> => {
      reads.push(path);
      const snapshot = table;
      if (reads.length === 1) await new Promise<void>((r) => (release = r));
      return snapshot;
    };
    const lookup = batchedPeerUidLookup('/nowhere', read);
    const q = (p: number) => lookup({ remote: '127.0.0.1', remotePort: p, local: '127.0.0.1', localPort: 8080 });
    const first = q(clients[0]!);
    await new Promise((r) => setImmediate(r));
    // Asked while the first read is under way: the connection may be newer than that read; it waits for the next.
    table += row(999, `${a}:${hex(50000)}`, `${a}:1F90`, '01', 4000);
    const batch = [...clients.slice(1).map(q), q(50000), q(50001)];
    release();
    assert.equal(await first, 3000);
    const uids = await Promise.all(batch);
    assert.deepEqual(
      uids.slice(0, 499),
      clients.slice(1).map((_, i) => 3000 + ((i + 1) % 2)),
    );
    assert.equal(uids[499], 4000, 'the newer connection was found by the second read');
    assert.equal(uids[500], undefined, 'no entry: unknown');
    assert.deepEqual(reads, ['/nowhere/net/tcp', '/nowhere/net/tcp', '/nowhere/net/tcp6'], 'two tcp reads for 502 queries; tcp6 only for the one not found');
  });
});
