// Doctor: what `jobrole host init` sets up (job users, directories, IMDS firewall rule) and the host health marker.

import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JobroleConfig } from '../../config/types.js';
import { slotDir } from '../../config/slot-dirs.js';
import { runCommand, type CommandRunner } from '../../isolation/command.js';
import { verifyImdsBlock } from '../../isolation/firewall.js';
import { endpointFenceTable, jobKeyOfChain, listEndpointFences } from '../../isolation/endpoint-fence.js';
import { listJobKeys, stateLayout } from '../../state/job-store.js';
import { jobUserName, lookupJobUser } from '../../isolation/users.js';
import { describeSharedGroup, sharedPrimaryGroup } from '../../isolation/private-group.js';
import { readHealth, unhealthyText } from '../../state/host-health.js';
import type { JobUser } from '../../state/types.js';
import { fail, pass, skip, warn, type CheckResult } from './result.js';

export interface HostCheckDeps {
  run?: CommandRunner;
  /** nft table (family inet); default [driver].firewall_table. */
  nftTable?: string;
}

const INIT = 'run `jobrole host init`';

interface WantDir {
  what: string;
  path: string;
  uid: number;
  gid: number;
  owner: string;
  /** Accepted modes. */
  modes: number[];
  /** A directory jobrole may share with others (the audit log's, e.g. /var/log): any mode not writable by group or others. */
  shared?: boolean;
}

const octal = (m: number) => m.toString(8).padStart(4, '0');

async function dirProblem(d: WantDir): Promise<string | undefined> {
  const st = await lstat(d.path).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) return st.code === 'ENOENT' ? 'missing' : `cannot be read (${st.code ?? st.message})`;
  if (!st.isDirectory()) return 'is not a directory (a symlink or file is in its place)';
  const problems: string[] = [];
  if (st.uid !== d.uid || st.gid !== d.gid) problems.push(`owned by ${st.uid}:${st.gid}, expected ${d.owner} (${d.uid}:${d.gid})`);
  if (d.shared === true) {
    if ((st.mode & 0o022) !== 0)
      problems.push(
        `mode ${octal(st.mode & 0o7777)} is writable by group or others; expected ${d.modes.map(octal).join(' or ')}, or a root-owned shared directory only root can write`,
      );
  } else if (!d.modes.includes(st.mode & 0o7777)) problems.push(`mode ${octal(st.mode & 0o7777)}, expected ${d.modes.map(octal).join(' or ')}`);
  return problems.length > 0 ? problems.join(', ') : undefined;
}

function wantedDirs(c: JobroleConfig, users: JobUser[]): WantDir[] {
  const d = c.driver;
  const root = (what: string, path: string, modes: number[]): WantDir => ({ what, path, uid: 0, gid: 0, owner: 'root', modes });
  // 0711: job users pass through to their own credential files (files/<job>, owned by them); they list nothing.
  const out = [root('state dir', d.state_dir, [0o711])];
  const auditDir = dirname(d.audit_log);
  // host init makes it root 0700 when it creates it, and only checks an existing shared one (e.g. /var/log).
  if (auditDir !== d.state_dir) out.push({ ...root('audit log dir', auditDir, [0o700]), shared: true });
  out.push(root('home root', d.home_dir, [0o755, 0o711, 0o700]));
  for (const [what, base] of [
    ['builds dir', d.builds_dir],
    ['cache dir', d.cache_dir],
  ] as const) {
    out.push(root(what, base, [0o755]));
    users.forEach((u, i) => out.push({ what, path: slotDir(base, i + 1), uid: u.uid, gid: u.gid, owner: u.name, modes: [0o700] }));
  }
  return out;
}

export async function checkHost(config: JobroleConfig, deps: HostCheckDeps = {}): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  try {
    const health = await readHealth(config.driver.state_dir);
    out.push(health.healthy ? pass('host health: no unhealthy marker') : fail(unhealthyText(health)));
  } catch (err) {
    out.push(fail(`host health marker in ${config.driver.state_dir} cannot be read (${(err as Error).message})`));
  }
  if (config.job.isolation === 'none') {
    out.push(skip('job users, directories and IMDS firewall rule: [job].isolation = "none"'));
    return out;
  }
  const run = deps.run === undefined ? {} : { run: deps.run };
  const users: JobUser[] = [];
  const missing: string[] = [];
  try {
    for (let slot = 1; slot <= config.driver.slots; slot++) {
      const name = jobUserName(config.driver.job_user_prefix, slot);
      const user = await lookupJobUser(name, run);
      if (user === undefined) missing.push(name);
      else users.push(user);
    }
  } catch (err) {
    out.push(fail(`job users: ${(err as Error).message}`));
    return out;
  }
  if (missing.length > 0) {
    out.push(fail(`job users missing: ${missing.join(', ')} (one per slot, [driver].slots = ${config.driver.slots}): ${INIT}`));
  } else {
    out.push(pass(`job users exist for all ${config.driver.slots} slots (${users.map((u) => `${u.name} uid ${u.uid}`).join(', ')})`));
  }
  out.push(...(await checkPrivateGroups(users, deps.run ?? runCommand)));

  const dirs = missing.length > 0 ? wantedDirs(config, []) : wantedDirs(config, users);
  let good = 0;
  for (const d of dirs) {
    const problem = await dirProblem(d);
    if (problem === undefined) good++;
    else out.push(fail(`${d.what} ${d.path}: ${problem}: ${INIT}`));
  }
  if (good === dirs.length) out.push(pass(`directories: ${good} in place with the right owners and modes`));

  if (users.length === 0) {
    out.push(fail(`IMDS firewall rule: cannot be checked without job users: ${INIT}`));
  } else {
    const fw = await verifyImdsBlock(
      users.map((u) => u.uid),
      { ...run, table: deps.nftTable ?? config.driver.firewall_table },
    );
    out.push(fw.ok ? pass(`IMDS firewall rule blocks uids ${users.map((u) => u.uid).join(', ')}`) : fail(`IMDS firewall rule: ${fw.problem}`));
  }
  out.push(await checkEndpointFences(config, deps));
  return out;
}

/** Each job user's primary group is its own: a job's credential files are readable by that group. */
async function checkPrivateGroups(users: JobUser[], run: CommandRunner): Promise<CheckResult[]> {
  if (users.length === 0) return [];
  const out: CheckResult[] = [];
  for (const u of users) {
    try {
      const shared = await sharedPrimaryGroup(u, run);
      if (shared !== undefined) out.push(fail(describeSharedGroup(u, shared)));
    } catch (err) {
      out.push(fail(`job user ${u.name}'s primary group cannot be checked: ${(err as Error).message}`));
    }
  }
  return out.length > 0 ? out : [pass(`job users' primary groups are their own (no members, nobody else's primary group)`)];
}

/** Endpoint rules left by jobs that have no state (a port fenced for a gone uid would lock out a later job there). */
async function checkEndpointFences(config: JobroleConfig, deps: HostCheckDeps): Promise<CheckResult> {
  const table = endpointFenceTable(deps.nftTable ?? config.driver.firewall_table);
  const fences = await listEndpointFences(table, deps.run);
  const live = new Set(await listJobKeys(stateLayout(config.driver.state_dir)));
  const orphans = fences.map((f) => jobKeyOfChain(f.chain)).filter((k): k is string => k !== undefined && !live.has(k));
  if (orphans.length > 0) {
    return warn(`endpoint firewall rules in ${table} of jobs with no state left: ${orphans.join(', ')}; "jobrole gc" removes them`);
  }
  return pass(`endpoint firewall rules: ${fences.length} in ${table}, each of a job in progress`);
}
