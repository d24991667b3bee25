// The nftables rule that keeps job users off the instance metadata service and the container credential endpoints.

import { describeFailure, runCommand, type CommandRunner } from './command.js';

export const DEFAULT_TABLE = 'jobrole';
const CHAIN = 'imds_output';

/** IMDS (v4 and v6) and the ECS / EKS Pod Identity credential endpoints. */
export const BLOCKED_IPV4 = ['169.254.169.254', '169.254.170.2', '169.254.170.23'];
export const BLOCKED_IPV6 = ['fd00:ec2::254', 'fd00:ec2::23'];

export interface FirewallDeps {
  run?: CommandRunner;
  /** nft table name in family inet (tests use their own). */
  table?: string;
}

export type VerifyResult = { ok: true } | { ok: false; problem: string };

function checkTable(table: string): string {
  if (!/^[a-zA-Z_][a-zA-Z0-9_-]{0,30}$/.test(table)) throw new Error(`invalid nft table name "${table}"`);
  return table;
}

function checkUids(uids: readonly number[]): number[] {
  if (uids.length === 0) throw new Error('no job user uids to block from IMDS');
  for (const uid of uids) {
    if (!Number.isInteger(uid) || uid < 0) throw new Error(`invalid uid ${String(uid)} for the IMDS block`);
    if (uid === 0) throw new Error('refusing to block uid 0 (root) from IMDS: the driver needs it');
  }
  return [...new Set(uids)].sort((a, b) => a - b);
}

/**
 * An `nft -f` script that replaces table inet <table> in one transaction (create-if-missing, delete,
 * re-create) with an output-hook chain rejecting the uids' traffic to the blocked addresses: TCP with a
 * reset and everything else with port-unreachable, so a job's request fails at once instead of hanging.
 */
export function imdsFirewallRuleset(opts: { uids: number[]; table?: string }): string {
  const table = checkTable(opts.table ?? DEFAULT_TABLE);
  const uids = `{ ${checkUids(opts.uids).join(', ')} }`;
  const v4 = `{ ${BLOCKED_IPV4.join(', ')} }`;
  const v6 = `{ ${BLOCKED_IPV6.join(', ')} }`;
  return [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain ${CHAIN} {`,
    '    type filter hook output priority 0; policy accept;',
    `    meta skuid ${uids} ip daddr ${v4} meta l4proto tcp reject with tcp reset`,
    `    meta skuid ${uids} ip daddr ${v4} reject with icmpx port-unreachable`,
    `    meta skuid ${uids} ip6 daddr ${v6} meta l4proto tcp reject with tcp reset`,
    `    meta skuid ${uids} ip6 daddr ${v6} reject with icmpx port-unreachable`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Installs (or replaces) the block atomically; running it again gives the same table. */
export async function installImdsBlock(uids: number[], deps: FirewallDeps = {}): Promise<void> {
  const run = deps.run ?? runCommand;
  const script = imdsFirewallRuleset({ uids, ...(deps.table === undefined ? {} : { table: deps.table }) });
  const r = await run('nft', ['-f', '-'], { input: script });
  if (r.exitCode !== 0) throw new Error(`installing the IMDS firewall block: ${describeFailure('nft', ['-f', '-'], r)}`);
}

type Json = unknown;
const obj = (v: Json): Record<string, Json> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, Json>) : undefined);

/** The values a match's right-hand side accepts (a value or an anonymous set); undefined for other forms. */
function values(right: Json): (string | number)[] | undefined {
  if (typeof right === 'string' || typeof right === 'number') return [right];
  const set = obj(right)?.set;
  if (Array.isArray(set) && set.every((v) => typeof v === 'string' || typeof v === 'number')) return set;
  return undefined;
}

interface Coverage {
  uids: (string | number)[];
  v4: (string | number)[];
  v6: (string | number)[];
}

/**
 * What a rule blocks for every protocol: only skuid / ip daddr / ip6 daddr equality matches, then reject
 * or drop. A rule with any other condition (e.g. tcp only) covers nothing here. 'other-verdict' flags a
 * rule that could let traffic skip the rest of the chain.
 */
function ruleCoverage(expr: Json[]): Coverage | 'other-verdict' | undefined {
  let uids: (string | number)[] | undefined;
  let v4: (string | number)[] = [];
  let v6: (string | number)[] = [];
  let blocks = false;
  let exact = true;
  for (const e of expr) {
    const o = obj(e);
    if (o === undefined) return undefined;
    if ('counter' in o || 'log' in o) continue;
    if ('reject' in o || 'drop' in o) {
      blocks = true;
      continue;
    }
    if ('accept' in o || 'return' in o || 'jump' in o || 'goto' in o || 'queue' in o) return 'other-verdict';
    const m = obj(o.match);
    if (m === undefined || (m.op !== '==' && m.op !== 'in')) {
      exact = false;
      continue;
    }
    const left = obj(m.left);
    const vals = values(m.right);
    const meta = obj(left?.meta)?.key;
    const payload = obj(left?.payload);
    if (meta === 'skuid' && vals !== undefined) uids = vals;
    else if (payload?.field === 'daddr' && payload.protocol === 'ip' && vals !== undefined) v4 = vals;
    else if (payload?.field === 'daddr' && payload.protocol === 'ip6' && vals !== undefined) v6 = vals;
    else exact = false;
  }
  if (!blocks || !exact || uids === undefined) return undefined;
  return { uids, v4, v6 };
}

/**
 * Reads table inet <table> (`nft -j list table`) and checks that every uid is blocked from every address
 * in BLOCKED_IPV4/BLOCKED_IPV6 by a rule in an output-hook chain that no accept/jump rule precedes.
 * prepare fails closed on anything but ok.
 */
export async function verifyImdsBlock(uids: number[], deps: FirewallDeps = {}): Promise<VerifyResult> {
  const run = deps.run ?? runCommand;
  const table = checkTable(deps.table ?? DEFAULT_TABLE);
  const wanted = checkUids(uids);
  const args = ['-j', 'list', 'table', 'inet', table];
  const r = await run('nft', args);
  if (r.exitCode !== 0)
    return { ok: false, problem: `IMDS firewall table inet ${table} cannot be read: ${describeFailure('nft', args, r)}; run \`jobrole host init\`` };
  let items: Json[];
  try {
    const doc = obj(JSON.parse(r.stdout));
    if (!Array.isArray(doc?.nftables)) throw new Error('no nftables array');
    items = doc.nftables;
  } catch (e) {
    return { ok: false, problem: `cannot parse \`nft ${args.join(' ')}\` output: ${String(e)}` };
  }
  const outputChains = new Set<string>();
  for (const it of items) {
    const c = obj(obj(it)?.chain);
    if (c?.hook === 'output' && c.type === 'filter' && typeof c.name === 'string') outputChains.add(c.name);
  }
  const blocked = new Set<string>();
  const broken = new Set<string>();
  for (const it of items) {
    const rule = obj(obj(it)?.rule);
    if (rule === undefined || typeof rule.chain !== 'string' || !outputChains.has(rule.chain) || !Array.isArray(rule.expr)) continue;
    if (broken.has(rule.chain)) continue;
    const cov = ruleCoverage(rule.expr);
    if (cov === 'other-verdict') {
      broken.add(rule.chain);
      continue;
    }
    if (cov === undefined) continue;
    for (const u of cov.uids) for (const a of [...cov.v4, ...cov.v6]) blocked.add(`${String(u)} ${String(a)}`);
  }
  const missing: string[] = [];
  for (const uid of wanted) {
    const addrs = [...BLOCKED_IPV4, ...BLOCKED_IPV6].filter((a) => !blocked.has(`${uid} ${a}`));
    if (addrs.length > 0) missing.push(`uid ${uid} -> ${addrs.join(', ')}`);
  }
  if (missing.length === 0) return { ok: true };
  return {
    ok: false,
    problem: `IMDS firewall table inet ${table} does not reject ${missing.join('; ')}; run \`jobrole host init\``,
  };
}
