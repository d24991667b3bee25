// A cgroup v2 group per job, where the host offers one: optional pids.max / memory.max, and cgroup.kill at cleanup.

import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** The parent of every job's group, under the cgroup v2 mount. */
const CGROUP_PARENT = 'jobrole';

export interface Cgroup2 {
  /** Where cgroup2 is mounted: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid). */
  mount: string;
  /** Controllers the root offers (cgroup.controllers), e.g. pids, memory. */
  controllers: string[];
}

export interface JobLimits {
  pidsMax: number;
  /** memory.max value (bytes, or with K/M/G suffix); '' = none. */
  memoryMax: string;
}

/** The cgroup2 mount of this host, from /proc/self/mountinfo; undefined when there is none. */
export async function detectCgroup2(mountinfoPath = '/proc/self/mountinfo'): Promise<Cgroup2 | undefined> {
  const text = await readFile(mountinfoPath, 'utf8').catch(() => '');
  const mounts = text
    .split('\n')
    .map((l) => {
      const [left, right] = l.split(' - ');
      return { mp: (left ?? '').split(' ')[4], fstype: (right ?? '').split(' ')[0] };
    })
    .filter((m) => m.fstype === 'cgroup2' && m.mp !== undefined)
    .map((m) => m.mp as string);
  const mount = mounts.includes('/sys/fs/cgroup') ? '/sys/fs/cgroup' : mounts.find((m) => m.startsWith('/sys/fs/cgroup'));
  if (mount === undefined) return undefined;
  const controllers = (await readFile(join(mount, 'cgroup.controllers'), 'utf8').catch(() => ''))
    .trim()
    .split(/\s+/)
    .filter((c) => c !== '');
  return { mount, controllers };
}

/** What the limits need and this host lacks ('' when nothing is missing). */
export function missingControllers(cg: Cgroup2 | undefined, limits: JobLimits): string[] {
  const wanted = [...(limits.pidsMax > 0 ? ['pids'] : []), ...(limits.memoryMax !== '' ? ['memory'] : [])];
  return wanted.filter((c) => cg === undefined || !cg.controllers.includes(c));
}

async function enable(dir: string, controllers: string[]): Promise<void> {
  const have = (await readFile(join(dir, 'cgroup.subtree_control'), 'utf8')).trim().split(/\s+/);
  const add = controllers.filter((c) => !have.includes(c));
  if (add.length > 0) await writeFile(join(dir, 'cgroup.subtree_control'), add.map((c) => `+${c}`).join(' '));
}

/**
 * Creates <mount>/jobrole/<name> with the limits (controllers enabled on the way down) and returns its path.
 * A limit whose controller the host lacks is an error naming the key to unset.
 */
export async function createJobCgroup(cg: Cgroup2, name: string, limits: JobLimits): Promise<string> {
  if (!/^[A-Za-z0-9_.-]{1,80}$/.test(name)) throw new Error(`invalid cgroup name ${JSON.stringify(name)}`);
  const missing = missingControllers(cg, limits);
  if (missing.length > 0) {
    throw new Error(
      `cgroup v2 at ${cg.mount} offers no ${missing.join(', ')} controller (it has: ${cg.controllers.join(' ') || 'none'}): unset [driver].job_pids_max / job_memory_max, or boot with the unified cgroup hierarchy`,
    );
  }
  const controllers = [...(limits.pidsMax > 0 ? ['pids'] : []), ...(limits.memoryMax !== '' ? ['memory'] : [])];
  const parent = join(cg.mount, CGROUP_PARENT);
  await mkdir(parent, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  if (controllers.length > 0) {
    await enable(cg.mount, controllers);
    await enable(parent, controllers);
  }
  const dir = join(parent, name);
  await mkdir(dir, { mode: 0o755 });
  if (limits.pidsMax > 0) await writeFile(join(dir, 'pids.max'), String(limits.pidsMax));
  if (limits.memoryMax !== '') {
    await writeFile(join(dir, 'memory.max'), limits.memoryMax);
    await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
  }
  return dir;
}

/** Moves a process (and so its future children) into the group. */
export async function joinCgroup(dir: string, pid: number): Promise<void> {
  await writeFile(join(dir, 'cgroup.procs'), String(pid));
}

async function procsOf(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/**
 * Kills everything in the group at once (cgroup.kill, Linux 5.14+; else SIGKILL to each member in rounds),
 * waits until it is empty and removes it. Missing group: nothing to do.
 */
export async function killAndRemoveCgroup(dir: string, timeoutMs = 5000): Promise<void> {
  if (
    !(await access(dir).then(
      () => true,
      () => false,
    ))
  )
    return;
  const hasKill = await access(join(dir, 'cgroup.kill')).then(
    () => true,
    () => false,
  );
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pids = await procsOf(dir);
    if (pids.length === 0) break;
    if (Date.now() > until) throw new Error(`cgroup ${dir} still holds processes ${pids.slice(0, 10).join(', ')} after ${timeoutMs} ms`);
    if (hasKill) await writeFile(join(dir, 'cgroup.kill'), '1');
    else
      for (const pid of pids)
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    await delay(20);
  }
  for (;;) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // EBUSY while the last exits are still being accounted.
      if (code !== 'EBUSY' || Date.now() > until) throw new Error(`removing cgroup ${dir}: ${(err as Error).message}`);
      await delay(20);
    }
  }
}

/** The job groups under <mount>/jobrole, by name (the job key). */
export async function jobCgroups(cg: Cgroup2): Promise<Map<string, string>> {
  const { readdir } = await import('node:fs/promises');
  const parent = join(cg.mount, CGROUP_PARENT);
  const names = await readdir(parent, { withFileTypes: true }).catch(() => []);
  return new Map(names.filter((d) => d.isDirectory()).map((d) => [d.name, join(parent, d.name)]));
}

/** A short tag of a state dir: job cgroups are named <tag>.<job key>, so each driver knows its own. */
export function stateDirTag(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 10);
}
