// Shared fixtures for the isolation tests: root/tool checks, temp roots, throwaway users and network namespaces.

import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandRunner } from '../../src/isolation/command.js';

const isRoot = process.getuid?.() === 0;

/** Why a root-only test cannot run here, or undefined when it can. */
export async function skipReason(tools: string[]): Promise<string | undefined> {
  if (!isRoot) return 'needs root (creates users, namespaces and firewall rules)';
  for (const t of tools) {
    const r = await runCommand('sh', ['-c', `command -v ${t}`]);
    if (r.exitCode !== 0) return `needs ${t} on PATH`;
  }
  return undefined;
}

/** A temp dir other users can traverse (0755), for homes and build dirs. */
export async function openTempDir(tag: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `jrt-${tag}-${process.pid}-`));
  await chmod(dir, 0o755);
  return dir;
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** Ends every process of the named users, then deletes them (and their groups). */
export async function removeUsers(names: string[]): Promise<void> {
  for (const name of names) {
    const r = await runCommand('id', ['-u', name]);
    if (r.exitCode !== 0) continue;
    await runCommand('pkill', ['-KILL', '-U', r.stdout.trim()]);
    await runCommand('userdel', [name]);
    await runCommand('groupdel', [name]);
  }
}

export async function createNetns(name: string): Promise<void> {
  for (const args of [
    ['netns', 'add', name],
    ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'],
  ]) {
    const r = await runCommand('ip', args);
    if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
}

export async function deleteNetns(name: string): Promise<void> {
  await runCommand('ip', ['netns', 'del', name]);
}

/** A command runner that runs nft inside the namespace and everything else as usual. */
export function nftInNetns(ns: string): CommandRunner {
  return (file, args, opts) => (file === 'nft' ? runCommand('ip', ['netns', 'exec', ns, 'nft', ...args], opts) : runCommand(file, args, opts));
}
