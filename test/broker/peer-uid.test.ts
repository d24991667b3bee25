// Tests the /proc/net/tcp uid lookup on real loopback connections and on crafted tables.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProcAddress, resolvePeerUidFromProc } from '../../src/broker/peer-uid.js';

async function connectedPair(host: string): Promise<{ server: Socket; client: Socket; close: () => Promise<void> }> {
  const accepted: Socket[] = [];
  const srv = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as { port: number }).port;
  const client = createConnection({ host, port });
  await new Promise<void>((r) => client.once('connect', r));
  while (accepted.length === 0) await new Promise((r) => setImmediate(r));
  return {
    server: accepted[0]!,
    client,
    close: async () => {
      client.destroy();
      accepted[0]!.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

describe('resolvePeerUidFromProc', () => {
  test('returns this process uid for a local IPv4 connection', async () => {
    const pair = await connectedPair('127.0.0.1');
    try {
      const s = pair.server;
      assert.equal(await resolvePeerUidFromProc(s.remotePort!, s.localPort!), process.getuid!());
      assert.equal(await resolvePeerUidFromProc(s.remotePort!, s.localPort!, { remote: s.remoteAddress!, local: s.localAddress! }), process.getuid!());
      assert.equal(await resolvePeerUidFromProc(s.remotePort!, s.localPort!, { remote: '127.0.0.2', local: s.localAddress! }), undefined);
      assert.equal(await resolvePeerUidFromProc(s.localPort!, s.remotePort!), process.getuid!(), 'our own end is root-owned too');
    } finally {
      await pair.close();
    }
  });

  test('returns undefined when no connection matches', async () => {
    assert.equal(await resolvePeerUidFromProc(1, 2), undefined);
  });

  test('reads the uid column and v4-mapped tcp6 entries, and fails closed on conflicting entries', async () => {
    const root = await mkdtemp(join(tmpdir(), 'jobrole-proc-'));
    try {
      await mkdir(join(root, 'net'));
      const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
      // client 127.0.0.1:50000 -> us 127.0.0.1:8080, uid 1001; and a listening socket that must not match
      const le = decodeProcAddress('0100007F') === '127.0.0.1';
      const a = le ? '0100007F' : '7F000001';
      await writeFile(
        join(root, 'net/tcp'),
        head +
          `   0: ${a}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0\n` +
          `   1: ${a}:C350 ${a}:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0\n`,
      );
      const v6 = le ? `0000000000000000FFFF0000${a}` : `00000000000000000000FFFF${a}`;
      await writeFile(join(root, 'net/tcp6'), head + `   0: ${v6}:C351 ${v6}:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 3 1 0\n`);
      assert.equal(await resolvePeerUidFromProc(50000, 8080, undefined, root), 1001);
      assert.equal(await resolvePeerUidFromProc(50001, 8080, { remote: '::ffff:127.0.0.1', local: '127.0.0.1' }, root), 1002);
      assert.equal(await resolvePeerUidFromProc(50000, 8081, undefined, root), undefined, 'wrong server port');
      await writeFile(
        join(root, 'net/tcp'),
        head +
          `   1: ${a}:C350 ${a}:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0\n` +
          `   2: ${a}:C350 ${a}:1F90 01 00000000:00000000 00:00000000 00000000  1003        0 4 1 0\n`,
      );
      assert.equal(await resolvePeerUidFromProc(50000, 8080, undefined, root), undefined);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
