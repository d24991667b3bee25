// The mount script of a job's sandbox: own dirs staged first, host read-only, then parents before children.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sandboxSetupScript, shq, writableMountPoints } from '../../src/isolation/sandbox-script.js';

const base = {
  stage: '/var/lib/jobrole/jobs/1-aaaaaaaaaaaa/sandbox',
  tmpSize: '1G',
  user: { uid: 990, gid: 985, home: '/var/lib/jobrole/home/jobrole-job1' },
  keep: [
    { path: '/var/lib/jobrole/builds/slot1' },
    { path: '/var/lib/jobrole/cache/slot1' },
    { path: '/var/lib/jobrole/files/1-aaaaaaaaaaaa', readOnly: true },
  ],
  hide: ['/var/lib/jobrole', '/var/lib/jobrole/builds', '/var/lib/jobrole/cache', '/var/lib/jobrole/home'],
  readOnly: ['/', '/dev', '/run'],
};

test('stages the own dirs before the host goes read-only, mounts parents before children, hides read-only last', () => {
  const lines = sandboxSetupScript(base).split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.match(lines[2] ?? '', /^mount -t tmpfs -o size=1G,mode=0700,nosuid,nodev jobrole-sandbox '\/var\/lib\/jobrole\/jobs\/1-aaaaaaaaaaaa\/sandbox'$/);
  const stageBuilds = at(/^mount --bind -- '\/var\/lib\/jobrole\/builds\/slot1' "\$S"\/keep\/0$/);
  const roRoot = at(/^mount -o remount,bind,ro -- '\/'$/);
  const hideState = at(/jobrole-hidden '\/var\/lib\/jobrole'$/);
  const bindBuilds = at(/^mount --bind -- "\$S"\/keep\/0 '\/var\/lib\/jobrole\/builds\/slot1'$/);
  const bindHome = at(/^mount --bind -- "\$S"\/w\/home '\/var\/lib\/jobrole\/home\/jobrole-job1'$/);
  const tmp = at(/mount --bind -- "\$S"\/w\/tmp '\/tmp'/);
  assert.ok(stageBuilds > 0 && stageBuilds < roRoot && roRoot < tmp && tmp < hideState && hideState < bindBuilds && hideState < bindHome, lines.join('\n'));
  // Nested hides are covered by their parent's: only state_dir gets a tmpfs; it is made read-only at the end.
  assert.equal(lines.filter((l) => l.includes('jobrole-hidden')).length, 1);
  assert.ok(at(/^mount -o remount,bind,ro -- '\/var\/lib\/jobrole'$/) > bindHome);
  assert.ok(at(/^mount -o remount,bind,ro -- '\/var\/lib\/jobrole\/files\/1-aaaaaaaaaaaa'$/) > 0, 'credential files read-only');
  assert.ok(lines.includes('chown 990:985 "$S"/w/home "$S"/w/home/tmp'));
});

test('refuses relative or odd paths, uid 0 and a size that is not one', () => {
  assert.throws(() => sandboxSetupScript({ ...base, stage: 'rel' }), /absolute/);
  assert.throws(() => sandboxSetupScript({ ...base, keep: [{ path: '/a/../b' }] }), /normalized/);
  assert.throws(() => sandboxSetupScript({ ...base, user: { ...base.user, uid: 0 } }), /non-zero/);
  assert.throws(() => sandboxSetupScript({ ...base, tmpSize: '1G; reboot' }), /size/);
  assert.equal(shq("it's"), `'it'\\''s'`);
});

test('writableMountPoints: skips proc, mounts under /proc and read-only mounts, decodes octal escapes', () => {
  const info = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '23 22 0:5 / /proc rw,nosuid - proc proc rw',
    '24 22 0:6 / /mnt/with\\040space rw - tmpfs tmpfs rw',
    '25 22 0:7 / /mnt/ro ro,relatime - tmpfs tmpfs ro',
    // systemd hosts (Debian, Ubuntu, Amazon Linux): binfmt_misc automounted under /proc, which the sandbox's own
    // /proc covers, so remounting it would fail and stop every job.
    '26 23 0:40 / /proc/sys/fs/binfmt_misc rw,relatime shared:12 - autofs systemd-1 rw,fd=30,pgrp=1,timeout=0,minproto=5,maxproto=5,direct',
    '27 26 0:41 / /proc/sys/fs/binfmt_misc rw,nosuid,nodev,noexec,relatime shared:13 - binfmt_misc binfmt_misc rw',
    '28 22 0:42 / /procedures rw - tmpfs tmpfs rw',
  ].join('\n');
  assert.deepEqual(writableMountPoints(info), ['/', '/mnt/with space', '/procedures']);
});
