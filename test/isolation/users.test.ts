// Job users: naming rules, idempotent creation with private homes, refusal to adopt strangers, home scrubbing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../src/isolation/command.js';
import { dropPrivilegeArgs } from '../../src/isolation/run-as.js';
import { ensureJobUsers, jobUserName, lookupJobUser, resetJobHome } from '../../src/isolation/users.js';
import type { JobUser } from '../../src/state/types.js';
import { openTempDir, removeDir, removeUsers, skipReason } from './helpers.js';

describe('jobUserName', () => {
  test('joins prefix and slot', () => {
    assert.equal(jobUserName('jobrole-job', 1), 'jobrole-job1');
    assert.equal(jobUserName('ci_', 12), 'ci_12');
  });
  test('rejects names Linux would not take and bad slots', () => {
    assert.throws(() => jobUserName('Jobrole', 1), /job_user_prefix "Jobrole"/);
    assert.throws(() => jobUserName('1job', 1), /starting with a letter/);
    assert.throws(() => jobUserName('job role', 1), /expected/);
    assert.throws(() => jobUserName('a'.repeat(32), 1), /at most 32/);
    assert.throws(() => jobUserName('job', 0), /slot must be an integer >= 1/);
    assert.throws(() => jobUserName('job', 1.5), /slot/);
  });
});

describe('job users on this host', async () => {
  const reason = await skipReason(['useradd', 'userdel', 'setpriv', 'getent']);
  const prefix = `jrt${process.pid}u`;
  const names = [`${prefix}1`, `${prefix}2`, `jrt${process.pid}x1`];
  let root: string | undefined;
  let homeRoot = '';
  let users: JobUser[] = [];

  before(async () => {
    if (reason !== undefined) return;
    root = await openTempDir('users');
    homeRoot = join(root, 'homes');
  });
  after(async () => {
    if (reason !== undefined) return;
    await removeUsers(names);
    await removeDir(root);
  });

  test('ensureJobUsers twice gives the same users, private homes, no extra groups', { skip: reason ?? false }, async () => {
    const first: string[] = [];
    users = await ensureJobUsers({ prefix, slots: 2, homeRoot }, { log: (l) => first.push(l) });
    assert.deepEqual(
      users.map((u) => u.name),
      [`${prefix}1`, `${prefix}2`],
    );
    assert.ok(first.some((l) => l.startsWith(`created job user ${prefix}1`)));
    const second: string[] = [];
    const again = await ensureJobUsers({ prefix, slots: 2, homeRoot }, { log: (l) => second.push(l) });
    assert.deepEqual(again, users);
    assert.ok(
      second.every((l) => l.endsWith('in place')),
      second.join('\n'),
    );
    for (const u of users) {
      assert.notEqual(u.uid, 0);
      assert.equal(u.home, join(homeRoot, u.name));
      assert.deepEqual(await lookupJobUser(u.name), u);
      const st = await lstat(u.home);
      assert.ok(st.isDirectory());
      assert.equal(st.mode & 0o7777, 0o700);
      assert.equal(st.uid, u.uid);
      assert.equal(st.gid, u.gid);
      const groups = (await runCommand('id', ['-G', u.name])).stdout.trim().split(/\s+/);
      assert.deepEqual(groups, [String(u.gid)], 'only its own group');
      const passwd = (await runCommand('getent', ['passwd', u.name])).stdout.trim();
      assert.ok(passwd.endsWith(':/bin/bash'), passwd);
      const shadow = (await readFile('/etc/shadow', 'utf8')).split('\n').find((l) => l.startsWith(`${u.name}:`));
      assert.match(shadow ?? '', /^[^:]+:[!*]/, 'no usable password');
    }
    assert.equal(await lookupJobUser(`jrt${process.pid}nobody`), undefined);
  });

  test('refuses to adopt an existing user with another home', { skip: reason ?? false }, async () => {
    const stranger = `jrt${process.pid}x1`;
    const r = await runCommand('useradd', ['--system', '--home-dir', '/nonexistent', '--no-create-home', stranger]);
    assert.equal(r.exitCode, 0, r.stderr);
    await assert.rejects(
      ensureJobUsers({ prefix: `jrt${process.pid}x`, slots: 1, homeRoot }),
      /already exists with home \/nonexistent.*does not look like a jobrole job user/,
    );
    assert.equal((await lookupJobUser(stranger))?.home, '/nonexistent', 'left as it was');
  });

  test('resetJobHome gives a fresh home without following planted links, read-only trees included', { skip: reason ?? false }, async () => {
    const u = users[0];
    assert.ok(u !== undefined && root !== undefined);
    // Something root owns that the job points links at.
    const precious = join(root, 'precious');
    await mkdir(precious, { mode: 0o755 });
    await writeFile(join(precious, 'keep'), 'root data', { mode: 0o644 });
    const asUser = async (script: string) => {
      const r = await runCommand('setpriv', [...dropPrivilegeArgs(u.uid, u.gid), 'bash', '-c', script]);
      assert.equal(r.exitCode, 0, r.stderr);
    };
    await asUser(
      [
        `cd ${u.home}`,
        'echo secret > creds; mkdir -p d/e; echo x > d/e/f; chmod 0500 d',
        `ln -s ${precious} link; ln -s ${precious}/keep filelink`,
        'p=deep; for i in $(seq 20); do mkdir $p; echo x > $p/f; p=$p/d; done; find deep -depth -type d -exec chmod 000 {} +',
        'chmod 0777 .',
      ].join('\n'),
    );
    const result = await resetJobHome(u);
    assert.deepEqual(result.problems, []);
    assert.deepEqual((await readdir(u.home)).sort(), ['tmp']);
    const st = await lstat(u.home);
    assert.equal(st.mode & 0o7777, 0o700);
    assert.equal(st.uid, u.uid);
    assert.deepEqual(await readdir(precious), ['keep'], 'link target untouched');
    assert.equal(await readFile(join(precious, 'keep'), 'utf8'), 'root data');
    assert.equal((await stat(precious)).uid, 0);
    assert.deepEqual(
      (await readdir(homeRoot)).filter((n) => n.includes('.trash-')),
      [],
      'no moved-aside home left',
    );
  });
});
