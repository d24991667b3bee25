// `jobrole host init`: job users, root-only state/audit dirs, per-slot build and cache dirs, config check, IMDS block.

import { lstat } from 'node:fs/promises';
import { dirname, relative, isAbsolute } from 'node:path';
import { slotDir } from '../config/slot-dirs.js';
import type { JobUser } from '../state/types.js';
import { runCommand, type CommandRunner } from './command.js';
import { ensureOwnedDir, type DirOutcome } from './dirs.js';
import { checkSharedDir, isSystemDir } from './shared-dirs.js';
import { DEFAULT_TABLE, installImdsBlock, verifyImdsBlock } from './firewall.js';
import { ensureJobUsers } from './users.js';

export interface HostInitOptions {
  prefix: string;
  slots: number;
  homeRoot: string;
  stateDir: string;
  buildsDir: string;
  cacheDir: string;
  /** The audit log file; its directory is made root-only. */
  auditLog: string;
  configPath?: string;
}

export interface HostInitDeps {
  run?: CommandRunner;
  /** nft table name (family inet); default jobrole. */
  nftTable?: string;
}

function within(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function say(what: string, outcome: DirOutcome, how: string): string {
  return outcome === 'in place' ? `${what} in place (${how})` : `${what} ${outcome} (${how})`;
}

async function checkConfig(path: string): Promise<string[]> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return [`config ${path} not found: nothing to check`];
  const warnings: string[] = [];
  if (st.isSymbolicLink()) warnings.push(`warning: config ${path} is a symlink; point [--config] at the file itself`);
  if (st.uid !== 0)
    warnings.push(`warning: config ${path} is owned by uid ${st.uid}, not root: whoever owns it decides which jobs get which roles (chown root:root)`);
  if ((st.mode & 0o022) !== 0) warnings.push(`warning: config ${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 0600`);
  if ((st.mode & 0o004) !== 0)
    warnings.push(`warning: config ${path} is readable by others, job users included (mode ${(st.mode & 0o777).toString(8)}): chmod 0600`);
  return warnings.length > 0 ? warnings : [`config ${path} in place (root-owned, not open to others)`];
}

/**
 * Prepares the host for jobs running as job users; safe to run again (a second run only says "in place",
 * apart from config warnings that still apply). Returns one line per item, for the operator.
 */
export async function hostInit(opts: HostInitOptions, deps: HostInitDeps = {}): Promise<string[]> {
  for (const [key, p] of Object.entries({ state_dir: opts.stateDir, builds_dir: opts.buildsDir, cache_dir: opts.cacheDir, audit_log: opts.auditLog })) {
    if (!isAbsolute(p)) throw new Error(`[driver].${key} must be an absolute path, got "${p}"`);
  }
  // These are jobrole's own directories (host init sets their owner and mode), so none may be a system directory.
  for (const [key, p] of Object.entries({ state_dir: opts.stateDir, builds_dir: opts.buildsDir, cache_dir: opts.cacheDir, home_dir: opts.homeRoot })) {
    if (isSystemDir(p)) {
      throw new Error(
        `[driver].${key} = "${p}" is a directory the whole host shares; host init would take it over (owner and mode): give jobrole a directory of its own, e.g. /var/lib/jobrole/${key.replace('_dir', '')}`,
      );
    }
  }
  const auditDir = dirname(opts.auditLog);
  // The audit log's directory is jobrole's own only if host init makes it (or made it: root, 0700). An existing
  // other directory, /var/log above all, is shared: checked, never changed.
  const auditExisting = await lstat(auditDir).catch(() => undefined);
  const auditShared =
    auditDir !== opts.stateDir &&
    (isSystemDir(auditDir) ||
      (auditExisting !== undefined && !(auditExisting.isDirectory() && auditExisting.uid === 0 && (auditExisting.mode & 0o7777) === 0o700)));
  const auditLine = auditShared ? await checkSharedDir(auditDir, '[driver].audit_log', 'the audit log') : undefined;
  const lines: string[] = [];
  const users: JobUser[] = await ensureJobUsers(
    { prefix: opts.prefix, slots: opts.slots, homeRoot: opts.homeRoot },
    { ...(deps.run === undefined ? {} : { run: deps.run }), log: (l) => lines.push(l) },
  );

  // Job users must be able to walk through the state dir: their per-job credential files live in
  // <state_dir>/files/<job> (owned by them), and builds, cache or homes may live inside it too. 0711 lets them
  // enter, never list; every job's own state dir inside stays 0700.
  const nested = [opts.buildsDir, opts.cacheDir, opts.homeRoot].filter((p) => within(opts.stateDir, p));
  const stateMode = 0o711;
  const stateHow = `root, 0711 so job users can reach their credential files${nested.length > 0 ? ` and ${nested.join(', ')}` : ''} inside it`;
  lines.push(say(`state dir ${opts.stateDir}`, await ensureOwnedDir(opts.stateDir, 0, 0, stateMode), stateHow));

  if (nested.some((p) => p === auditDir || within(auditDir, p))) {
    throw new Error(`[driver].audit_log's directory ${auditDir} must not contain builds, cache or home dirs: it is root-only`);
  }
  if (auditLine !== undefined) lines.push(auditLine);
  else if (auditDir !== opts.stateDir) lines.push(say(`audit log dir ${auditDir}`, await ensureOwnedDir(auditDir, 0, 0, 0o700), 'root, 0700'));

  for (const [what, root] of [
    ['builds', opts.buildsDir],
    ['cache', opts.cacheDir],
  ] as const) {
    lines.push(say(`${what} dir ${root}`, await ensureOwnedDir(root, 0, 0, 0o755), 'root, 0755'));
    for (const [i, u] of users.entries()) {
      const dir = slotDir(root, i + 1);
      lines.push(say(`${what} dir ${dir}`, await ensureOwnedDir(dir, u.uid, u.gid, 0o700), `${u.name}, 0700`));
    }
  }

  if (opts.configPath !== undefined) lines.push(...(await checkConfig(opts.configPath)));

  const uids = users.map((u) => u.uid);
  const fw = { ...(deps.run === undefined ? {} : { run: deps.run }), ...(deps.nftTable === undefined ? {} : { table: deps.nftTable }) };
  const table = `inet ${deps.nftTable ?? DEFAULT_TABLE}`;
  const before = await verifyImdsBlock(uids, fw);
  if (before.ok) {
    lines.push(`IMDS firewall block (nft table ${table}) for uids ${uids.join(', ')} in place`);
  } else {
    await installImdsBlock(uids, fw);
    const after = await verifyImdsBlock(uids, fw);
    if (!after.ok) throw new Error(`installed the IMDS firewall block but it does not verify: ${after.problem}`);
    lines.push(`IMDS firewall block (nft table ${table}) installed for uids ${uids.join(', ')}`);
  }
  lines.push(...(await sandboxPrerequisites(deps.run ?? runCommand)));
  return lines;
}

/**
 * What each job's sandbox needs from the host (util-linux unshare/nsenter/setsid/mount, keyutils): missing
 * util-linux tools stop host init (no job could run); missing keyctl is a warning (slots would be quarantined).
 */
async function sandboxPrerequisites(run: CommandRunner): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of ['unshare', 'nsenter', 'setsid', 'setpriv', 'mount']) if ((await run(tool, ['--version'])).exitCode !== 0) missing.push(tool);
  if (missing.length > 0) throw new Error(`the job sandbox needs ${missing.join(', ')}: install util-linux (2.36 or later) and mount`);
  const keyctl = (await run('keyctl', ['--version'])).exitCode === 0;
  return [
    'sandbox tools (unshare, nsenter, setsid, setpriv, mount) in place',
    keyctl
      ? "keyctl in place (job users' keyrings are cleared at cleanup)"
      : "warning: keyctl is missing: install keyutils, or cleanup cannot clear job users' keyrings and quarantines their slots",
  ];
}
