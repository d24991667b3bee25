// `jobrole host init`: everything set up once, the second run changes nothing, owners and modes as promised.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostInit, type HostInitOptions } from '../../src/isolation/host-init.js';
import { verifyImdsBlock } from '../../src/isolation/firewall.js';
import { lookupJobUser } from '../../src/isolation/users.js';
import { runCommand } from '../../src/isolation/command.js';
import { createNetns, deleteNetns, nftInNetns, openTempDir, removeDir, removeUsers, skipReason } from './helpers.js';

async function owner(path: string): Promise<{ uid: number; mode: number }> {
  const st = await lstat(path);
  assert.ok(st.isDirectory(), `${path} is a directory`);
  return { uid: st.uid, mode: st.mode & 0o7777 };
}

describe('hostInit', async () => {
  const reason = await skipReason(['nft', 'ip', 'useradd', 'setpriv']);
  const ns = `jrt${process.pid}h`;
  const prefix = `jrt${process.pid}h`;
  const table = `jrt${process.pid}h`;
  let root: string | undefined;
  let opts: HostInitOptions;
  const run = nftInNetns(ns);

  before(async () => {
    if (reason !== undefined) return;
    root = await openTempDir('init');
    await createNetns(ns);
    opts = {
      prefix,
      slots: 2,
      homeRoot: join(root, 'home'),
      stateDir: join(root, 'state'),
      buildsDir: join(root, 'builds'),
      cacheDir: join(root, 'cache'),
      auditLog: join(root, 'log', 'audit.jsonl'),
      configPath: join(root, 'config.toml'),
    };
    await writeFile(opts.configPath!, '[driver]\n', { mode: 0o600 });
  });
  after(async () => {
    if (reason !== undefined) return;
    await deleteNetns(ns);
    await removeUsers([`${prefix}1`, `${prefix}2`, `${prefix}s1`, `${prefix}so`]);
    await runCommand('groupdel', [`${prefix}sg`]);
    await removeDir(root);
  });

  test('sets everything up, and a second run finds it all in place', { skip: reason ?? false }, async () => {
    const first = await hostInit(opts, { run, nftTable: table });
    assert.ok(
      first.some((l) => l.startsWith(`created job user ${prefix}1`)),
      first.join('\n'),
    );
    assert.ok(
      first.some((l) => l.startsWith(`IMDS firewall block (nft table inet ${table}) installed`)),
      first.join('\n'),
    );
    const second = await hostInit(opts, { run, nftTable: table });
    assert.equal(second.length, first.length);
    for (const l of second) assert.match(l, /in place/);

    const users = [await lookupJobUser(`${prefix}1`), await lookupJobUser(`${prefix}2`)];
    assert.deepEqual(await owner(opts.stateDir), { uid: 0, mode: 0o711 }, 'job users may pass through to their credential files, never list');
    assert.deepEqual(await owner(join(root!, 'log')), { uid: 0, mode: 0o700 });
    for (const dir of [opts.buildsDir, opts.cacheDir]) {
      assert.deepEqual(await owner(dir), { uid: 0, mode: 0o755 });
      for (const [i, u] of users.entries()) {
        assert.ok(u !== undefined);
        const st = await lstat(join(dir, `slot${i + 1}`));
        assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [u.uid, u.gid, 0o700]);
      }
    }
    const uids = users.map((u) => u!.uid);
    assert.deepEqual(await verifyImdsBlock(uids, { run, table }), { ok: true });
  });

  test('puts back a mode someone loosened, and warns about an open config', { skip: reason ?? false }, async () => {
    await chmod(opts.stateDir, 0o755);
    await chmod(opts.configPath!, 0o666);
    const lines = await hostInit(opts, { run, nftTable: table });
    assert.ok(
      lines.some((l) => l.startsWith(`state dir ${opts.stateDir} fixed (root, 0711`)),
      lines.join('\n'),
    );
    assert.deepEqual(await owner(opts.stateDir), { uid: 0, mode: 0o711 });
    assert.ok(lines.some((l) => /^warning: config .* writable by group or others/.test(l)));
    assert.ok(lines.some((l) => /^warning: config .* readable by others/.test(l)));
    await chmod(opts.configPath!, 0o600);
  });

  test('a state dir holding the builds dir stays enterable (0711) but not listable', { skip: reason ?? false }, async () => {
    const nestedState = join(root!, 'nested');
    const lines = await hostInit({ ...opts, stateDir: nestedState, buildsDir: join(nestedState, 'builds') }, { run, nftTable: table });
    assert.ok(
      lines.some((l) => l.startsWith(`state dir ${nestedState} created (root, 0711`)),
      lines.join('\n'),
    );
    assert.deepEqual(await owner(nestedState), { uid: 0, mode: 0o711 });
  });

  test(
    'an audit log directly inside an existing shared directory: the directory is checked, never chowned or chmodded',
    { skip: reason ?? false },
    async () => {
      const shared = join(root!, 'var-log');
      await mkdir(shared, { mode: 0o755 });
      await chmod(shared, 0o755);
      await writeFile(join(shared, 'syslog'), 'other software lives here\n');
      const lines = await hostInit({ ...opts, auditLog: join(shared, 'jobrole-audit.jsonl') }, { run, nftTable: table });
      assert.ok(
        lines.some((l) => l === `the audit log dir ${shared} is a shared directory: checked, left as it is (root, mode 0755)`),
        lines.join('\n'),
      );
      assert.deepEqual(await owner(shared), { uid: 0, mode: 0o755 }, 'host init left the shared directory alone');

      // The real /var/log, as on a real host: only looked at.
      const before = await lstat('/var/log');
      const safe = before.uid === 0 && (before.mode & 0o022) === 0;
      const real = hostInit({ ...opts, auditLog: '/var/log/jobrole-audit.jsonl' }, { run, nftTable: table });
      if (safe) assert.ok((await real).some((l) => /^the audit log dir \/var\/log is a shared directory: checked, left as it is/.test(l)));
      else await assert.rejects(real, /not jobrole's own directory/);
      const after = await lstat('/var/log');
      assert.deepEqual([after.uid, after.gid, after.mode], [before.uid, before.gid, before.mode], '/var/log is unchanged');
    },
  );

  test('an unsafe shared directory is refused with what to change, and left as it was', { skip: reason ?? false }, async () => {
    const open = join(root!, 'open-tmp');
    await mkdir(open);
    await chmod(open, 0o1777);
    await assert.rejects(
      hostInit({ ...opts, auditLog: join(open, 'audit.jsonl') }, { run, nftTable: table }),
      /\[driver\]\.audit_log: .*open-tmp is writable by group or others \(mode 1777\) and is not jobrole's own directory, so host init does not change it; anyone who can write there could replace the audit log: use a directory of its own/,
    );
    assert.deepEqual(await owner(open), { uid: 0, mode: 0o1777 });
    const tmpBefore = await lstat('/tmp');
    await assert.rejects(
      hostInit({ ...opts, buildsDir: '/tmp' }, { run, nftTable: table }),
      /\[driver\]\.builds_dir = "\/tmp" is a directory the whole host shares/,
    );
    assert.equal((await lstat('/tmp')).mode, tmpBefore.mode, '/tmp is unchanged');
  });

  test('a pre-created slot user sharing its primary group is refused before anything is set up', { skip: reason ?? false }, async () => {
    const group = `${prefix}sg`;
    const fresh = join(root!, 'shared-group');
    const o: HostInitOptions = {
      ...opts,
      prefix: `${prefix}s`,
      slots: 1,
      homeRoot: join(fresh, 'home'),
      stateDir: join(fresh, 'state'),
      buildsDir: join(fresh, 'builds'),
      cacheDir: join(fresh, 'cache'),
      auditLog: join(fresh, 'log', 'audit.jsonl'),
    };
    for (const [file, args] of [
      ['groupadd', ['--system', group]],
      ['useradd', ['--system', '--gid', group, '--home-dir', join(o.homeRoot, `${prefix}s1`), '--no-create-home', `${prefix}s1`]],
      ['useradd', ['--system', '--no-user-group', '--home-dir', '/nonexistent', '--no-create-home', `${prefix}so`]],
      ['gpasswd', ['-a', `${prefix}so`, group]],
    ] as const) {
      const r = await runCommand(file, args);
      assert.equal(r.exitCode, 0, `${file}: ${r.stderr}`);
    }
    await assert.rejects(
      hostInit(o, { run, nftTable: `${table}s` }),
      new RegExp(`job user ${prefix}s1's primary group ${group} \\(gid \\d+\\) is not its own \\(members ${prefix}so\\).*run \`jobrole host init\` again`),
    );
    await assert.rejects(lstat(o.stateDir), /ENOENT/, 'no state dir');
    await assert.rejects(lstat(join(o.homeRoot, `${prefix}s1`)), /ENOENT/, 'no home');
    assert.equal((await run('nft', ['list', 'table', 'inet', `${table}s`])).exitCode === 0, false, 'no firewall table');
  });
});
