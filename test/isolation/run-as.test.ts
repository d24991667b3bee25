// Running the job's bash as its user: only its own uid/gid, no groups, no capabilities, no root files, our env only.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { jobSpawnSpec } from '../../src/isolation/run-as.js';
import { ensureJobUsers } from '../../src/isolation/users.js';
import type { JobUser } from '../../src/state/types.js';
import { openTempDir, removeDir, removeUsers, skipReason } from './helpers.js';

const user: JobUser = { name: 'jobrole-job1', uid: 990, gid: 985, home: '/home/jobrole/jobrole-job1' };

describe('jobSpawnSpec', () => {
  test('with a user: setpriv to its ids, no groups or capabilities, then bash; its own HOME/USER/LOGNAME/TMPDIR', () => {
    const spec = jobSpawnSpec(user, { PATH: '/usr/bin:/bin', HOME: '/root', CI_JOB_ID: '7' }, '/builds/slot1');
    assert.equal(spec.command, 'setpriv');
    assert.deepEqual(spec.args, [
      '--reuid=990',
      '--regid=985',
      '--clear-groups',
      '--inh-caps=-all',
      '--ambient-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      'bash',
    ]);
    assert.deepEqual(spec.env, { PATH: '/usr/bin:/bin', HOME: user.home, CI_JOB_ID: '7', USER: user.name, LOGNAME: user.name, TMPDIR: `${user.home}/tmp` });
    assert.equal(spec.cwd, '/builds/slot1');
  });
  test('without a user: plain bash with the env as given', () => {
    assert.deepEqual(jobSpawnSpec(undefined, { A: 'b' }, '/x'), { command: 'bash', args: [], env: { A: 'b' }, cwd: '/x', detached: false });
  });
  test('with a sandbox: nsenter into its namespaces, setsid, then the same setpriv; detached, joining its cgroup', () => {
    const spec = jobSpawnSpec(user, { PATH: '/usr/bin:/bin' }, '/builds/slot1', { initPid: 4321, startTime: '99', cgroup: '/sys/fs/cgroup/jobrole/k' });
    assert.equal(spec.command, 'nsenter');
    assert.deepEqual(spec.args.slice(0, 9), ['-t', '4321', '-p', '-m', '-i', '-u', '--', 'setsid', 'setpriv']);
    assert.equal(spec.args.at(-1), 'bash');
    assert.ok(spec.args.includes('--no-new-privs'));
    assert.equal(spec.detached, true);
    assert.equal(spec.cgroup, '/sys/fs/cgroup/jobrole/k');
    assert.throws(() => jobSpawnSpec(user, {}, '/', { initPid: 1, startTime: undefined }), /invalid sandbox init pid/);
  });
  test('refuses uid or gid 0', () => {
    assert.throws(() => jobSpawnSpec({ ...user, uid: 0 }, {}, '/'), /uid 0/);
    assert.throws(() => jobSpawnSpec({ ...user, gid: 0 }, {}, '/'), /gid 0/);
  });
});

describe('the job as its user on this host', async () => {
  const reason = await skipReason(['setpriv', 'useradd', 'bash', 'id']);
  const prefix = `jrt${process.pid}r`;
  let root: string | undefined;
  let job: JobUser | undefined;

  before(async () => {
    if (reason !== undefined) return;
    root = await openTempDir('runas');
    [job] = await ensureJobUsers({ prefix, slots: 1, homeRoot: join(root, 'homes') });
    await writeFile(join(root, 'root-secret'), 'host secret', { mode: 0o600 });
  });
  after(async () => {
    if (reason !== undefined) return;
    await removeUsers([`${prefix}1`]);
    await removeDir(root);
  });

  test('sees only its own ids, cannot read root files, has no capabilities, gets only the env it was given', { skip: reason ?? false }, async () => {
    assert.ok(job !== undefined && root !== undefined);
    const spec = jobSpawnSpec(job, { PATH: '/usr/local/bin:/usr/bin:/bin', CI_JOB_ID: '42' }, job.home);
    const script = [
      'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"',
      `if cat ${join(root, 'root-secret')} 2>/dev/null; then echo READ; else echo "denied"; fi`,
      'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status',
      'echo "home=$HOME user=$USER logname=$LOGNAME tmp=$TMPDIR pwd=$PWD job=$CI_JOB_ID"',
      'env | cut -d= -f1 | sort | tr "\\n" " "; echo',
      'touch "$TMPDIR/ok" && echo tmp-writable',
    ].join('\n');
    process.env.JOBROLE_TEST_HOST_SECRET = 'must-not-leak';
    try {
      const r = await execa(spec.command, spec.args, { env: spec.env, extendEnv: false, cwd: spec.cwd, input: script, reject: false });
      assert.equal(r.exitCode, 0, r.stderr);
      const out = r.stdout;
      assert.match(out, new RegExp(`^uid=${job.uid} gid=${job.gid} groups=${job.gid}$`, 'm'));
      assert.match(out, /^denied$/m);
      assert.doesNotMatch(out, /host secret|READ/);
      for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.match(out, new RegExp(`^${cap}:\\s+0+$`, 'm'));
      assert.match(out, /^NoNewPrivs:\s+1$/m);
      assert.match(out, new RegExp(`^home=${job.home} user=${job.name} logname=${job.name} tmp=${job.home}/tmp pwd=${job.home} job=42$`, 'm'));
      assert.doesNotMatch(out, /JOBROLE_TEST_HOST_SECRET|must-not-leak/);
      assert.match(out, /^tmp-writable$/m);
    } finally {
      delete process.env.JOBROLE_TEST_HOST_SECRET;
    }
  });
});
