// The endpoint fence: its nft script, its names, and the kernel resetting every other uid's connection (root's too).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { CommandRunner } from '../../src/isolation/command.js';
import { runCommand } from '../../src/isolation/command.js';
import {
  endpointFenceFor,
  endpointFenceScript,
  installEndpointFence,
  jobKeyOfChain,
  listEndpointFences,
  removeEndpointFence,
} from '../../src/isolation/endpoint-fence.js';
import { createNetns, deleteNetns, nftInNetns, skipReason } from './helpers.js';

describe('endpoint fence script and names', () => {
  test('one chain per job in the table beside the IMDS one; every other uid to the port is reset', () => {
    const fence = endpointFenceFor('jobrole', '4242-0123456789ab');
    assert.deepEqual(fence, { table: 'jobrole_ep', chain: 'job_4242_0123456789ab' });
    assert.equal(jobKeyOfChain(fence.chain), '4242-0123456789ab');
    assert.equal(jobKeyOfChain('imds_output'), undefined);
    const s = endpointFenceScript(fence, { port: 40123, uid: 2001 });
    assert.match(s, /^table inet jobrole_ep \{\}\n/);
    assert.match(s, /chain inet jobrole_ep job_4242_0123456789ab \{ type filter hook output priority -1; policy accept; \}/);
    assert.match(s, /flush chain inet jobrole_ep job_4242_0123456789ab\n/, 'idempotent: installing twice leaves one rule');
    assert.match(s, /ip daddr 127\.0\.0\.1 tcp dport 40123 meta skuid != 2001 counter reject with tcp reset/);
  });

  test('refuses what would make a wrong or empty rule', () => {
    const fence = endpointFenceFor('jobrole', '4242-0123456789ab');
    assert.throws(() => endpointFenceScript(fence, { port: 0, uid: 2001 }), /invalid endpoint port/);
    assert.throws(() => endpointFenceScript(fence, { port: 40123, uid: 0 }), /invalid job uid 0/);
    assert.throws(() => endpointFenceFor('jobrole', '../x'), /invalid job key/);
    assert.throws(() => endpointFenceFor('x; flush ruleset', '4242-0123456789ab'), /invalid nft table/);
  });

  test('removal is one transaction that cannot trip over a missing chain; nft failing is an error', async () => {
    const fence = endpointFenceFor('jobrole', '4242-0123456789ab');
    const scripts: string[] = [];
    const ok: CommandRunner = async (_f, _a, o) => {
      scripts.push(o?.input ?? '');
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    await removeEndpointFence(fence, ok);
    assert.deepEqual(scripts, [
      'add table inet jobrole_ep\nadd chain inet jobrole_ep job_4242_0123456789ab\nflush chain inet jobrole_ep job_4242_0123456789ab\ndelete chain inet jobrole_ep job_4242_0123456789ab\n',
    ]);
    const broken: CommandRunner = async () => ({ exitCode: 1, stdout: '', stderr: 'Error: busy' });
    await assert.rejects(removeEndpointFence(fence, broken), /removing the firewall rule .*busy/);
  });
});

const CLIENT = `
const s = require('node:net').connect(Number(process.argv[1]), '127.0.0.1');
s.on('connect', () => { process.stdout.write('connected'); s.end(); });
s.on('error', (e) => process.stdout.write(e.code));
`;

describe('endpoint fence in the kernel (root, in a network namespace)', async () => {
  const skip = await skipReason(['nft', 'ip', 'setpriv']);
  const ns = `jrtep${process.pid}`;
  const run = nftInNetns(ns);
  const fence = endpointFenceFor('jrtepf', '7-00000000000a');
  const JOB_UID = 64211;
  const OTHER_UID = 64212;
  let server: ChildProcess | undefined;
  let port = 0;
  let accepted = 0;

  before(async () => {
    if (skip !== undefined) return;
    await createNetns(ns);
    server = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        `
      const srv = require('node:net').createServer((c) => { process.stdout.write('A\\n'); c.end(); });
      srv.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + srv.address().port + '\\n'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    server.stdout!.setEncoding('utf8');
    port = await new Promise<number>((resolve) => {
      server!.stdout!.on('data', (d: string) => {
        const m = /PORT (\d+)/.exec(d);
        if (m !== null) resolve(Number(m[1]));
        accepted += (d.match(/^A$/gm) ?? []).length;
      });
    });
  });
  after(async () => {
    server?.kill('SIGKILL');
    if (skip === undefined) await deleteNetns(ns);
  });

  const connectAs = async (uid: number | undefined): Promise<string> => {
    const drop = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    const r = await runCommand('ip', ['netns', 'exec', ns, ...drop, process.execPath, '-e', CLIENT, String(port)]);
    return r.stdout.trim();
  };

  test("only the job's uid connects; another job user and root are reset before the server sees them", { skip }, async () => {
    assert.equal(await connectAs(OTHER_UID), 'connected', 'without the fence anyone connects');
    const before = accepted;
    await installEndpointFence(fence, { port, uid: JOB_UID }, run);
    await installEndpointFence(fence, { port, uid: JOB_UID }, run);
    assert.equal(await connectAs(OTHER_UID), 'ECONNREFUSED');
    assert.equal(await connectAs(undefined), 'ECONNREFUSED', 'root is another uid too');
    assert.equal(await connectAs(JOB_UID), 'connected');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(accepted - before, 1, "the server accepted the job's connection only");
    const listed = (await runCommand('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'inet', fence.table, fence.chain])).stdout;
    assert.equal(listed.match(/reject with tcp reset/g)?.length, 1, 'installed twice, one rule');
    assert.match(listed, /packets [1-9]/, 'the rule counted the refused SYNs');
    assert.deepEqual(await listEndpointFences(fence.table, run), [fence]);

    await removeEndpointFence(fence, run);
    await removeEndpointFence(fence, run);
    assert.deepEqual(await listEndpointFences(fence.table, run), []);
    assert.equal(await connectAs(OTHER_UID), 'connected', 'removed: the port is open again');
  });
});
