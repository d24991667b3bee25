// The IMDS block: the ruleset, the verifier's judgement, and a job user actually refused inside a network namespace.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { once } from 'node:events';
import { runCommand, type CommandRunner } from '../../src/isolation/command.js';
import { BLOCKED_IPV4, BLOCKED_IPV6, imdsFirewallRuleset, installImdsBlock, verifyImdsBlock } from '../../src/isolation/firewall.js';
import { dropPrivilegeArgs } from '../../src/isolation/run-as.js';
import { ensureJobUsers } from '../../src/isolation/users.js';
import type { JobUser } from '../../src/state/types.js';
import { createNetns, deleteNetns, nftInNetns, openTempDir, removeDir, removeUsers, skipReason } from './helpers.js';

describe('imdsFirewallRuleset', () => {
  test('one transaction rejecting the uids from IMDS and container credential endpoints, v4 and v6', () => {
    const s = imdsFirewallRuleset({ uids: [1002, 1001, 1002], table: 'jrtest' });
    assert.match(s, /^table inet jrtest \{\}\ndelete table inet jrtest\ntable inet jrtest \{/);
    assert.match(s, /type filter hook output priority 0; policy accept;/);
    assert.match(s, /meta skuid \{ 1001, 1002 \} ip daddr \{ 169\.254\.169\.254, 169\.254\.170\.2, 169\.254\.170\.23 \} reject/);
    assert.match(s, /meta skuid \{ 1001, 1002 \} ip6 daddr \{ fd00:ec2::254, fd00:ec2::23 \} reject/);
    assert.doesNotMatch(s, /\bdrop\b|\baccept\b[^;]/);
  });
  test('never blocks root, refuses an empty list and odd table names', () => {
    assert.throws(() => imdsFirewallRuleset({ uids: [1001, 0] }), /uid 0/);
    assert.throws(() => imdsFirewallRuleset({ uids: [] }), /no job user uids/);
    assert.throws(() => imdsFirewallRuleset({ uids: [1001], table: 'x; flush ruleset' }), /invalid nft table/);
  });
});

describe('verifyImdsBlock judging nft output', () => {
  const chain = { chain: { family: 'inet', table: 'jobrole', name: 'c', type: 'filter', hook: 'output', prio: 0, policy: 'accept' } };
  const m = (left: unknown, right: unknown) => ({ match: { op: '==', left, right } });
  const skuid = (v: unknown) => m({ meta: { key: 'skuid' } }, v);
  const daddr = (proto: string, v: unknown) => m({ payload: { protocol: proto, field: 'daddr' } }, v);
  const rule = (...expr: unknown[]) => ({ rule: { family: 'inet', table: 'jobrole', chain: 'c', expr } });
  const full = [
    rule(skuid({ set: [1001, 1002] }), daddr('ip', { set: BLOCKED_IPV4 }), { reject: { type: 'icmpx', expr: 'port-unreachable' } }),
    rule({ counter: { packets: 0, bytes: 0 } }, skuid(1001), daddr('ip6', { set: BLOCKED_IPV6 }), { drop: null }),
    rule(skuid(1002), daddr('ip6', { set: BLOCKED_IPV6 }), { reject: null }),
  ];
  const fake =
    (items: unknown[], exitCode = 0): CommandRunner =>
    async () => ({ exitCode, stdout: JSON.stringify({ nftables: [{ metainfo: {} }, chain, ...items] }), stderr: 'no such table' });

  test('ok when every uid is blocked from every address', async () => {
    assert.deepEqual(await verifyImdsBlock([1001, 1002], { run: fake(full) }), { ok: true });
  });
  test('a uid left out is a problem naming it', async () => {
    const r = await verifyImdsBlock([1001, 1003], { run: fake(full) });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.problem, /uid 1003 -> 169\.254\.169\.254/);
  });
  test('a tcp-only rule does not count as a block', async () => {
    const tcpOnly = [rule(skuid(1001), daddr('ip', { set: BLOCKED_IPV4 }), m({ meta: { key: 'l4proto' } }, 'tcp'), { reject: { type: 'tcp reset' } }), full[1]];
    const r = await verifyImdsBlock([1001], { run: fake(tcpOnly) });
    assert.equal(r.ok, false);
  });
  test('an accept rule before the blocks makes them worthless', async () => {
    const r = await verifyImdsBlock([1001], { run: fake([rule(skuid(1001), { accept: null }), ...full]) });
    assert.equal(r.ok, false);
  });
  test('a missing table or unreadable output fails closed', async () => {
    assert.equal((await verifyImdsBlock([1001], { run: fake([], 1) })).ok, false);
    assert.equal((await verifyImdsBlock([1001], { run: async () => ({ exitCode: 0, stdout: 'not json', stderr: '' }) })).ok, false);
  });
});

const SERVER = `
const http = require('node:http');
const addrs = JSON.parse(process.argv[1]);
let up = 0;
for (const a of addrs) http.createServer((q, s) => s.end('creds-for-' + a)).listen(80, a, () => { if (++up === addrs.length) console.log('ready'); });
`;

describe('IMDS block inside a network namespace', async () => {
  const reason = await skipReason(['nft', 'ip', 'curl', 'setpriv', 'useradd']);
  const ns = `jrt${process.pid}`;
  const prefix = `jrt${process.pid}f`;
  const addrs = [...BLOCKED_IPV4, ...BLOCKED_IPV6];
  let root: string | undefined;
  let user: JobUser | undefined;
  let server: ChildProcess | undefined;
  const run = nftInNetns(ns);

  before(async () => {
    if (reason !== undefined) return;
    root = await openTempDir('fw');
    [user] = await ensureJobUsers({ prefix, slots: 1, homeRoot: join(root, 'homes') });
    await createNetns(ns);
    for (const a of addrs) {
      const args = a.includes(':') ? ['-6', 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad'] : ['addr', 'add', `${a}/32`, 'dev', 'lo'];
      const r = await runCommand('ip', ['netns', 'exec', ns, 'ip', ...args]);
      assert.equal(r.exitCode, 0, r.stderr);
    }
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, JSON.stringify(addrs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = (await once(server.stdout!, 'data')) as [Buffer];
    assert.match(chunk.toString(), /ready/);
  });
  after(async () => {
    server?.kill('SIGKILL');
    if (reason !== undefined) return;
    await deleteNetns(ns);
    await removeUsers([`${prefix}1`]);
    await removeDir(root);
  });

  const curl = (asUser: JobUser | undefined, addr: string) => {
    const url = addr.includes(':') ? `http://[${addr}]/` : `http://${addr}/`;
    const c = ['curl', '-sS', '-v', '-g', '--max-time', '3', url];
    const cmd = asUser === undefined ? c : ['setpriv', ...dropPrivilegeArgs(asUser.uid, asUser.gid), ...c];
    return runCommand('ip', ['netns', 'exec', ns, ...cmd]);
  };

  test('the job user is refused at once, root still gets through', { skip: reason ?? false }, async () => {
    assert.ok(user !== undefined);
    // Before the block the job user could reach it: the test is not passing by accident.
    const open = await curl(user, '169.254.169.254');
    assert.equal(open.exitCode, 0, open.stderr);
    assert.equal(open.stdout, 'creds-for-169.254.169.254');

    await installImdsBlock([user.uid], { run, table: `jrt${process.pid}` });
    for (const a of addrs) {
      const started = Date.now();
      const denied = await curl(user, a);
      assert.equal(denied.exitCode, 7, `${a}: ${denied.stdout} ${denied.stderr}`);
      assert.match(denied.stderr, /failed: Connection refused/);
      assert.equal(denied.stdout, '', 'no credentials reached the job');
      assert.ok(Date.now() - started < 2000, 'fails fast (reject, not drop)');
      const allowed = await curl(undefined, a);
      assert.equal(allowed.exitCode, 0, allowed.stderr);
      assert.equal(allowed.stdout, `creds-for-${a}`);
    }
  });

  test('verify says ok, installing again changes nothing, and a deleted or weakened table is a problem', { skip: reason ?? false }, async () => {
    assert.ok(user !== undefined);
    const table = `jrt${process.pid}`;
    assert.deepEqual(await verifyImdsBlock([user.uid], { run, table }), { ok: true });
    const listing = async () => (await run('nft', ['list', 'table', 'inet', table])).stdout;
    const first = await listing();
    await installImdsBlock([user.uid], { run, table });
    assert.equal(await listing(), first);

    await run('nft', ['flush', 'chain', 'inet', table, 'imds_output']);
    await run('nft', [
      'add',
      'rule',
      'inet',
      table,
      'imds_output',
      'meta',
      'skuid',
      String(user.uid),
      'ip',
      'daddr',
      '169.254.169.254',
      'meta',
      'l4proto',
      'tcp',
      'reject',
      'with',
      'tcp',
      'reset',
    ]);
    const weak = await verifyImdsBlock([user.uid], { run, table });
    assert.equal(weak.ok, false);

    assert.equal((await run('nft', ['delete', 'table', 'inet', table])).exitCode, 0);
    const gone = await verifyImdsBlock([user.uid], { run, table });
    assert.equal(gone.ok, false);
    assert.match(gone.ok ? '' : gone.problem, new RegExp(`table inet ${table} cannot be read`));
    const reachable = await curl(user, '169.254.169.254');
    assert.equal(reachable.stdout, 'creds-for-169.254.169.254', 'and without it the job would get through: why prepare fails closed');
  });
});
