// `jobrole doctor`: one PASS/WARN/FAIL/SKIP line per check of this host, its config and the runner registration.

import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';
import { ssmClient, stsClient } from '../aws/clients.js';
import type { JobroleConfig } from '../config/types.js';
import type { CommandRunner } from '../isolation/command.js';
import { withCentralPolicy } from '../policy/central.js';
import { stateLayout } from '../state/job-store.js';
import { authorControlledWarnings } from '../policy/author-controlled.js';
import { checkClockSkew, checkHostCredentials } from './checks/aws.js';
import { callerIdentity } from './checks/caller-identity.js';
import { checkConfigValid, checkPrivileges } from './checks/config.js';
import { checkHost } from './checks/host.js';
import { fail, formatCheck, pass, skip, warn, type CheckResult } from './checks/result.js';
import { checkRoles } from './checks/roles.js';
import { checkRunnerConfig } from './checks/runner-config.js';

export interface DoctorOptions {
  config?: JobroleConfig;
  /** Why the config could not be loaded (then most checks are skipped). */
  configError?: string;
  /** gitlab-runner's config.toml. */
  runnerConfigPath?: string;
  /** Opt-in: AssumeRole each assume-role role once (900 s, credentials discarded). */
  dryRunRoles?: boolean;
  /** A `jobrole serve` host: check [serve], skip the driver's host checks (job users, firewall, runner registration). */
  serve?: boolean;
}

export interface DoctorDeps {
  sts?: () => Promise<STSClient>;
  ssm?: () => Promise<SSMClient>;
  /** Runs getent / nft. */
  run?: CommandRunner;
  uid?: () => number;
  now?: () => Date;
  /** nft table; default [driver].firewall_table. */
  nftTable?: string;
  /** This jobrole executable's path, accepted in the runner config besides any file named jobrole. */
  self?: string;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

async function centralPolicy(config: JobroleConfig, deps: DoctorDeps, now: () => Date): Promise<{ config: JobroleConfig; results: CheckResult[] }> {
  const name = config.policy.ssm_parameter;
  if (name === '') return { config, results: [] };
  const warnings: string[] = [];
  try {
    // cache_ttl 0: doctor always asks SSM, and says so when it had to fall back to the cache.
    const merged = await withCentralPolicy(
      { ...config, policy: { ...config.policy, cache_ttl: 0 } },
      {
        ssm: deps.ssm ?? once(() => ssmClient(config.aws)),
        cacheDir: stateLayout(config.driver.state_dir).cache,
        now,
        warn: (m) => warnings.push(m),
      },
    );
    return {
      config: { ...merged, policy: config.policy },
      results: [pass(`central policy ${name}: ${merged.roles.length} roles after merging with ${config.source}`), ...warnings.map((w) => warn(w))],
    };
  } catch (err) {
    return { config, results: [...warnings.map((w) => warn(w)), fail(`${(err as Error).message}: jobs on this host fail until it is fixed`)] };
  }
}

export async function runDoctor(opts: DoctorOptions, deps: DoctorDeps = {}): Promise<{ lines: string[]; ok: boolean }> {
  const results: CheckResult[] = [checkConfigValid(opts.config, opts.configError)];
  if (opts.config === undefined) {
    results.push(skip('everything else: needs a valid config'));
    return finish(results);
  }
  const now = deps.now ?? (() => new Date());
  const central = await centralPolicy(opts.config, deps, now);
  const config = central.config;
  results.push(...central.results);
  results.push(...authorControlledWarnings(config.roles).map((w) => warn(w)));
  const serveOnly = opts.serve === true;
  if (!serveOnly) results.push(...checkPrivileges(config, (deps.uid ?? (() => process.getuid?.() ?? -1))()));
  if (serveOnly || config.serve !== undefined) {
    const { checkServe } = await import('./checks/serve.js');
    results.push(...(await checkServe(config, { now })));
  }

  const sts = deps.sts ?? once(() => stsClient(config.aws));
  let caller: string | undefined;
  const needsCredentials = !serveOnly || config.policy.ssm_parameter !== '' || config.roles.some((r) => r.strategy !== 'web-identity');
  if (!needsCredentials) {
    results.push(skip("host credentials: not needed (every role is web-identity, assumed with the job's own token)"));
    results.push(...(await checkRoles(config, opts.dryRunRoles === true, sts, caller)));
    return finish(results);
  }
  try {
    const id = await callerIdentity(await sts(), now);
    caller = id.arn;
    results.push(checkHostCredentials(id, config.aws.region), checkClockSkew(id));
  } catch (err) {
    results.push(fail(`host credentials: cannot build an STS client (${(err as Error).message}): check [aws]`), skip('clock skew: no answer from STS'));
  }
  results.push(...(await checkRoles(config, opts.dryRunRoles === true, sts, caller)));
  if (serveOnly) return finish(results);
  results.push(
    ...(await checkHost(config, {
      ...(deps.run !== undefined ? { run: deps.run } : {}),
      ...(deps.nftTable !== undefined ? { nftTable: deps.nftTable } : {}),
    })),
  );
  if (config.job.isolation === 'users') {
    const { checkSandbox } = await import('./checks/sandbox.js');
    results.push(...(await checkSandbox(config, deps.run)));
  }
  results.push(...(await checkRunnerConfig(opts.runnerConfigPath, config, deps.self)));
  return finish(results);
}

function finish(results: CheckResult[]): { lines: string[]; ok: boolean } {
  return { lines: results.map(formatCheck), ok: results.every((r) => r.status !== 'FAIL') };
}
