// Doctor: gitlab-runner's config.toml registers jobrole for all four stages, with sane timeouts and limit.

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse } from 'smol-toml';
import type { JobroleConfig } from '../../config/types.js';
import { fail, pass, skip, warn, type CheckResult } from './result.js';

const STAGES = ['config', 'prepare', 'run', 'cleanup'] as const;
/** The runner's default for every *_exec_timeout. */
const RUNNER_DEFAULT_TIMEOUT = 3600;
const MIN_CLEANUP_TIMEOUT = 30;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/** True for an executable that is jobrole (by file name, or the path given). */
function isJobrole(exec: unknown, self: string | undefined): boolean {
  if (typeof exec !== 'string' || exec === '') return false;
  return exec === self || ['jobrole', 'jobrole.cjs'].includes(basename(exec));
}

/** The stage named by *_args (global --config allowed before it), or why the args are wrong. */
function argsProblem(args: unknown, stage: string): { config?: string; problem?: string } {
  const shown = JSON.stringify(args ?? null);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return { problem: `${stage}_args = ${shown}, expected ["${stage}"]` };
  const list = args;
  if (list[list.length - 1] !== stage) return { problem: `${stage}_args = ${shown}, expected ["${stage}"]` };
  const rest = list.slice(0, -1);
  if (rest.length === 0) return {};
  if (rest.length === 1 && rest[0]?.startsWith('--config=')) return { config: rest[0].slice('--config='.length) };
  if (rest.length === 2 && rest[0] === '--config' && rest[1] !== undefined) return { config: rest[1] };
  return { problem: `${stage}_args = ${shown}, expected ["${stage}"] (optionally after "--config", "<path>")` };
}

function timeout(custom: Obj, key: string): number {
  const v = custom[key];
  return typeof v === 'number' && v > 0 ? v : RUNNER_DEFAULT_TIMEOUT;
}

function checkRunner(r: Obj, label: string, config: JobroleConfig, self: string | undefined): CheckResult[] {
  const custom = obj(r.custom);
  const out: CheckResult[] = [];
  const problems: string[] = [];
  const configPaths = new Set<string>();
  for (const stage of STAGES) {
    const exec = custom[`${stage}_exec`];
    if (exec === undefined || exec === '') {
      problems.push(`${stage}_exec is missing`);
      continue;
    }
    if (!isJobrole(exec, self)) {
      problems.push(`${stage}_exec = ${JSON.stringify(exec)} is not jobrole`);
      continue;
    }
    const a = argsProblem(custom[`${stage}_args`], stage);
    if (a.problem !== undefined) problems.push(a.problem);
    if (a.config !== undefined) configPaths.add(a.config);
  }
  if (problems.length > 0) {
    out.push(
      fail(
        `${label}: ${problems.join('; ')}: set [runners.custom] config_exec/prepare_exec/run_exec/cleanup_exec to jobrole with args ["config"], ["prepare"], ["run"], ["cleanup"]`,
      ),
    );
  } else {
    out.push(pass(`${label}: all four stages run jobrole`));
  }
  for (const p of configPaths) {
    if (p !== config.source) out.push(warn(`${label}: the runner passes --config ${p}, but this doctor checked ${config.source}: run it with --config ${p}`));
  }

  const ip = config.roles.some((role) => role.strategy === 'instance-profile');
  const need = config.instance_profile.propagation_timeout + 60;
  const prepare = timeout(custom, 'prepare_exec_timeout');
  const cleanup = timeout(custom, 'cleanup_exec_timeout');
  const minCleanup = ip ? need : MIN_CLEANUP_TIMEOUT;
  const tproblems: string[] = [];
  if (ip && prepare < need)
    tproblems.push(`prepare_exec_timeout = ${prepare} s is below [instance_profile].propagation_timeout + 60 s = ${need} s: set it to at least ${need}`);
  if (cleanup < minCleanup) {
    tproblems.push(
      `cleanup_exec_timeout = ${cleanup} s is too short to scrub${ip ? ' and restore the instance profile' : ''}: set it to at least ${minCleanup}`,
    );
  }
  out.push(tproblems.length > 0 ? fail(`${label}: ${tproblems.join('; ')}`) : pass(`${label}: timeouts prepare ${prepare} s, cleanup ${cleanup} s`));
  return out;
}

/** The most jobs this [[runners]] entry runs at once: its limit, else the global concurrent (default 1). */
function effectiveLimit(r: Obj, concurrent: number): number {
  const limit = typeof r.limit === 'number' ? r.limit : 0;
  return limit > 0 ? Math.min(limit, concurrent) : concurrent;
}

export async function checkRunnerConfig(path: string | undefined, config: JobroleConfig, self?: string): Promise<CheckResult[]> {
  if (path === undefined) return [skip("gitlab-runner registration: not checked (pass --runner-config <gitlab-runner's config.toml>)")];
  let doc: Obj;
  try {
    doc = parse(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return [
      fail(`gitlab-runner config ${path}: ${code !== undefined ? `cannot be read (${code})` : `not valid TOML (${(err as Error).message.split('\n')[0]})`}`),
    ];
  }
  const concurrent = typeof doc.concurrent === 'number' && doc.concurrent > 0 ? doc.concurrent : 1;
  const runners = Array.isArray(doc.runners) ? doc.runners.map(obj) : [];
  const ours = runners
    .map((r, i) => ({ r, label: `gitlab-runner ${path} [[runners]] ${typeof r.name === 'string' ? JSON.stringify(r.name) : `#${i + 1}`}` }))
    .filter(({ r }) => r.executor === 'custom' && STAGES.some((s) => isJobrole(obj(r.custom)[`${s}_exec`], self)));
  if (ours.length === 0) {
    return [
      fail(`gitlab-runner config ${path}: no [[runners]] with executor = "custom" runs jobrole: register one (see the registration example in the docs)`),
    ];
  }
  const out: CheckResult[] = [];
  const slots = config.driver.slots;
  let total = 0;
  for (const { r, label } of ours) {
    out.push(...checkRunner(r, label, config, self));
    const n = effectiveLimit(r, concurrent);
    total += n;
    const from = typeof r.limit === 'number' && r.limit > 0 ? `limit = ${r.limit}` : `limit unset, concurrent = ${concurrent}`;
    out.push(
      n <= slots
        ? pass(`${label}: at most ${n} job${n === 1 ? '' : 's'} at once (${from}) within [driver].slots = ${slots}`)
        : fail(`${label}: up to ${n} jobs at once (${from}) but [driver].slots = ${slots}: set limit = ${slots} (jobs beyond the slots fail to start)`),
    );
  }
  if (ours.length > 1 && total > slots) {
    out.push(
      fail(
        `gitlab-runner config ${path}: the ${ours.length} jobrole runners together run up to ${total} jobs, more than [driver].slots = ${slots}: lower their limits`,
      ),
    );
  }
  return out;
}
