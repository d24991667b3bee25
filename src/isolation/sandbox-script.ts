// The shell script that builds a job's mount namespace: private temp dirs and home, own slot dirs only, the rest read-only.

import { posix } from 'node:path';

export interface SandboxMounts {
  /** A root-only directory on the host where the job's scratch tmpfs is mounted (inside the namespace only). */
  stage: string;
  /** tmpfs size= of the scratch filesystem that holds /tmp, /var/tmp, /dev/shm, /run/lock and the home. */
  tmpSize: string;
  user: { uid: number; gid: number; home: string };
  /** Directories of this job mounted at the same path inside (its builds and cache slot, its credential files). */
  keep: Array<{ path: string; readOnly?: boolean }>;
  /** Directories covered by an empty read-only tmpfs (the parents of every slot's dirs, the state dir, the homes). */
  hide: string[];
  /** Host mount points to make read-only inside (already read-only ones and proc are left out by the caller). */
  readOnly: string[];
}

/** The shared writable places a job may use, each replaced by a directory of the job's own scratch tmpfs. */
const SCRATCH_DIRS: ReadonlyArray<{ target: string; name: string }> = [
  { target: '/tmp', name: 'tmp' },
  { target: '/var/tmp', name: 'var-tmp' },
  { target: '/dev/shm', name: 'shm' },
  { target: '/run/lock', name: 'lock' },
];

/** Single-quotes a string for sh. */
export function shq(s: string): string {
  if (s.includes('\0')) throw new Error('a path with a NUL byte');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function checkPath(p: string): string {
  if (!posix.isAbsolute(p) || posix.normalize(p) !== p || p === '/')
    throw new Error(`sandbox path ${JSON.stringify(p)} must be absolute, normalized and not /`);
  return p;
}

const depth = (p: string) => p.split('/').length;
const inside = (parent: string, child: string) => child.startsWith(`${parent}/`);

/**
 * The script, run as root by `nsenter -t <init> -p -m -- sh -s`. Order matters: the job's own directories
 * are bound to the stage while their paths are still reachable; the host's mounts are made read-only;
 * then, shallowest path first, scratch dirs, hiding tmpfs and own dirs are mounted at their final places
 * (a stage directory stays reachable through an open descriptor after its own path is hidden).
 */
export function sandboxSetupScript(m: SandboxMounts): string {
  const stage = checkPath(m.stage);
  if (!/^\d+[kmg]?$/i.test(m.tmpSize)) throw new Error(`tmpfs size ${JSON.stringify(m.tmpSize)} is not a size like 2g or 512m`);
  const { uid, gid } = m.user;
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid) || gid <= 0) throw new Error('the sandbox is for a job user with non-zero uid and gid');
  const home = checkPath(m.user.home);
  const keep = m.keep.map((k) => ({ ...k, path: checkPath(k.path) }));
  const hidden = [...new Set(m.hide.map(checkPath))].filter((h, _, all) => !all.some((o) => inside(o, h)));
  const S = '"$S"';
  const lines = [
    'set -eu',
    'umask 022',
    `mount -t tmpfs -o size=${m.tmpSize},mode=0700,nosuid,nodev jobrole-sandbox ${shq(stage)}`,
    `exec 9<${shq(stage)}`,
    'S=/proc/self/fd/9',
    `mkdir -m 0700 ${S}/keep`,
    `mkdir -m 0755 ${S}/w`,
  ];
  keep.forEach((k, i) => lines.push(`mkdir -m 0700 ${S}/keep/${i}`, `mount --bind -- ${shq(k.path)} ${S}/keep/${i}`));
  for (const d of SCRATCH_DIRS) lines.push(`mkdir -m 1777 ${S}/w/${d.name}`);
  lines.push(`mkdir -m 0700 ${S}/w/home ${S}/w/home/tmp`, `chown ${uid}:${gid} ${S}/w/home ${S}/w/home/tmp`);
  for (const mp of m.readOnly) lines.push(`mount -o remount,bind,ro -- ${shq(mp)}`);

  type Op = { path: string; cmd: string[] };
  const ops: Op[] = [];
  for (const d of SCRATCH_DIRS) ops.push({ path: d.target, cmd: [`if [ -d ${shq(d.target)} ]; then mount --bind -- ${S}/w/${d.name} ${shq(d.target)}; fi`] });
  for (const h of hidden) {
    ops.push({ path: h, cmd: [`mkdir -p -- ${shq(h)}`, `mount -t tmpfs -o size=64k,mode=0755,nosuid,nodev,noexec jobrole-hidden ${shq(h)}`] });
  }
  ops.push({ path: home, cmd: [`mkdir -p -- ${shq(home)}`, `mount --bind -- ${S}/w/home ${shq(home)}`] });
  keep.forEach((k, i) => {
    ops.push({
      path: k.path,
      cmd: [
        `mkdir -p -- ${shq(k.path)}`,
        `mount --bind -- ${S}/keep/${i} ${shq(k.path)}`,
        ...(k.readOnly === true ? [`mount -o remount,bind,ro -- ${shq(k.path)}`] : []),
      ],
    });
  });
  ops.sort((a, b) => depth(a.path) - depth(b.path));
  for (const op of ops) lines.push(...op.cmd);
  for (const h of hidden) lines.push(`mount -o remount,bind,ro -- ${shq(h)}`);
  lines.push('exec 9<&-', '');
  return lines.join('\n');
}

/** Mount points of a mountinfo table that are writable and not proc or under /proc: the ones the sandbox makes read-only. */
export function writableMountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    if (line.trim() === '') continue;
    const [left, right] = line.split(' - ');
    const f = (left ?? '').split(' ');
    const fstype = (right ?? '').split(' ')[0];
    const mp = f[4];
    const opts = (f[5] ?? '').split(',');
    if (mp === undefined || fstype === 'proc' || opts.includes('ro')) continue;
    const path = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    // The sandbox's own /proc (--mount-proc) covers whatever was mounted under the host's (binfmt_misc and its
    // systemd automount): those are not reachable inside, and remounting them would fail.
    if (path === '/proc' || path.startsWith('/proc/')) continue;
    out.push(path);
  }
  return [...new Set(out)];
}
