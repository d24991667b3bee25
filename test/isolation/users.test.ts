// Job users: naming rules, idempotent creation with private homes, refusal to adopt strangers (or shared groups), home scrubbing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandRunner } from '../../src/isolation/command.js';
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

/** A passwd and group database for getent and id; records every command run. */
function fakeAccounts(passwd: string[], groups: string[], calls: string[]): CommandRunner {
  return async (file, args) => {
    calls.push([file, ...args].join(' '));
    const [db, key] = args;
    if (file === 'getent' && key === undefined) return { exitCode: 0, stdout: `${(db === 'passwd' ? passwd : groups).join('\n')}\n`, stderr: '' };
    if (file === 'getent') {
      const col = db === 'group' && /^\d+$/.test(key ?? '') ? 2 : 0;
      const hit = (db === 'passwd' ? passwd : groups).find((l) => l.split(':')[col] === key);
      return hit === undefined ? { exitCode: 2, stdout: '', stderr: '' } : { exitCode: 0, stdout: `${hit}\n`, stderr: '' };
    }
    if (file === 'id' && args[0] === '-G') {
      const gid = passwd.find((l) => l.startsWith(`${args[1]}:`))?.split(':')[3] ?? '';
      return { exitCode: 0, stdout: `${gid}\n`, stderr: '' };
    }
    return { exitCode: 1, stdout: '', stderr: `unexpected ${file}` };
  };
}

describe('a job user whose primary group is not its own', { skip: process.getuid?.() !== 0 && 'needs root (home root owned by root)' }, () => {
  const entry = (name: string, uid: number, gid: number, home: string) => `${name}:x:${uid}:${gid}:jobrole job slot 1:${home}:/bin/bash`;

  const refuses = async (passwd: string[], groups: string[], why: RegExp) => {
    const homeRoot = await mkdtemp(join(tmpdir(), 'jobrole-group-'));
    try {
      const calls: string[] = [];
      const run = fakeAccounts(
        passwd.map((l) => l.replace('HOME', join(homeRoot, 'jobrole-job1'))),
        groups,
        calls,
      );
      await assert.rejects(ensureJobUsers({ prefix: 'jobrole-job', slots: 1, homeRoot }, { run }), why);
      assert.deepEqual(await readdir(homeRoot), [], 'no home made for a user it refused');
      assert.ok(!calls.some((c) => /^(useradd|usermod|gpasswd|groupmod)/.test(c)), calls.join('\n'));
    } finally {
      await rm(homeRoot, { recursive: true, force: true });
    }
  };

  test('a group with members is refused, naming user, group, members and what to do', async () => {
    await refuses(
      [entry('jobrole-job1', 990, 100, 'HOME'), 'alice:x:1000:1000::/home/alice:/bin/bash'],
      ['users:x:100:alice,jobrole-job1', 'alice:x:1000:'],
      /^Error: job user jobrole-job1's primary group users \(gid 100\) is not its own \(members alice\): each job's credential and ID-token files are readable by that group, so those accounts could read every job's credentials\. Give jobrole-job1 a group of its own: take the others out of users \(gpasswd -d <user> users.*or remove jobrole-job1 \(userdel jobrole-job1\) and run `jobrole host init` again/,
    );
  });

  test("another account's primary group is refused, naming that account", async () => {
    await refuses(
      [entry('jobrole-job1', 990, 100, 'HOME'), 'bob:x:1001:100::/home/bob:/bin/bash'],
      ['users:x:100:'],
      /job user jobrole-job1's primary group users \(gid 100\) is not its own \(the primary group of bob\)/,
    );
  });

  test('a private group (listing only the user itself) is adopted', async () => {
    const homeRoot = await mkdtemp(join(tmpdir(), 'jobrole-group-'));
    try {
      const home = join(homeRoot, 'jobrole-job1');
      const run = fakeAccounts(
        [entry('jobrole-job1', 990, 990, home), 'alice:x:1000:1000::/home/alice:/bin/bash'],
        ['jobrole-job1:x:990:jobrole-job1', 'alice:x:1000:'],
        [],
      );
      const [u] = await ensureJobUsers({ prefix: 'jobrole-job', slots: 1, homeRoot }, { run });
      assert.deepEqual(u, { name: 'jobrole-job1', uid: 990, gid: 990, home });
    } finally {
      await rm(homeRoot, { recursive: true, force: true });
    }
  });
});

describe('job users on this host', async () => {
  const reason = await skipReason(['useradd', 'userdel', 'setpriv', 'getent']);
  const prefix = `jrt${process.pid}u`;
  const shared = `jrt${process.pid}g`;
  const names = [`${prefix}1`, `${prefix}2`, `jrt${process.pid}x1`, `${shared}1`, `${shared}o`];
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
    await runCommand('groupdel', [shared]);
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

  test('refuses a pre-created slot user whose primary group another account has as its own', { skip: reason ?? false }, async () => {
    const home = join(homeRoot, `${shared}1`);
    for (const [file, args] of [
      ['groupadd', ['--system', shared]],
      ['useradd', ['--system', '--gid', shared, '--home-dir', home, '--no-create-home', `${shared}1`]],
      ['useradd', ['--system', '--gid', shared, '--home-dir', '/nonexistent', '--no-create-home', `${shared}o`]],
    ] as const) {
      const r = await runCommand(file, args);
      assert.equal(r.exitCode, 0, r.stderr);
    }
    await assert.rejects(
      ensureJobUsers({ prefix: shared, slots: 1, homeRoot }),
      new RegExp(`job user ${shared}1's primary group ${shared} \\(gid \\d+\\) is not its own \\(the primary group of ${shared}o\\)`),
    );
    await assert.rejects(lstat(home), /ENOENT/, 'no home made for it');
    // Alone in its group, the same user is adopted.
    assert.equal((await runCommand('userdel', [`${shared}o`])).exitCode, 0);
    const [u] = await ensureJobUsers({ prefix: shared, slots: 1, homeRoot });
    assert.equal(u?.home, home);
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
