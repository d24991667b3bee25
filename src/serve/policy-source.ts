// The roles the broker decides with: config.toml's, plus the central policy from SSM re-read every cache_ttl in the background.

import type { SSMClient } from '@aws-sdk/client-ssm';
import type { JobroleConfig } from '../config/types.js';
import { withCentralPolicy } from '../policy/central.js';
import { stateLayout } from '../state/job-store.js';
import { instanceProfileRefusal, servableRole } from './serve-rules.js';

export interface PolicySource {
  /** The config to decide with now. The first call waits for SSM; later ones never wait (stale-while-revalidate). */
  current(): Promise<JobroleConfig>;
}

export interface PolicySourceDeps {
  ssm: () => Promise<SSMClient>;
  warn: (message: string) => void;
  now?: () => number;
}

/** Central roles the broker cannot serve are dropped with a warning (local ones stop the broker at start). */
function servable(config: JobroleConfig, warn: (m: string) => void, warned: Set<string>): JobroleConfig {
  const bad = config.roles.filter((r) => !servableRole(r));
  if (bad.length === 0) return config;
  for (const r of bad) {
    if (!warned.has(r.name)) warn(`central policy: ${instanceProfileRefusal(r)}; jobs asking for it are refused`);
    warned.add(r.name);
  }
  return { ...config, roles: config.roles.filter(servableRole) };
}

export function policySource(base: JobroleConfig, deps: PolicySourceDeps): PolicySource {
  if (base.policy.ssm_parameter === '') return { current: async () => base };
  const now = deps.now ?? Date.now;
  const ttlMs = base.policy.cache_ttl * 1000;
  const warned = new Set<string>();
  let have: { config: JobroleConfig; at: number } | undefined;
  let loading: Promise<JobroleConfig> | undefined;

  const load = (): Promise<JobroleConfig> => {
    loading ??= withCentralPolicy(base, { ssm: deps.ssm, cacheDir: stateLayout(base.driver.state_dir).cache, warn: deps.warn, now: () => new Date(now()) })
      .then((merged) => {
        const config = servable(merged, deps.warn, warned);
        have = { config, at: now() };
        return config;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };

  return {
    async current() {
      if (have === undefined) return load();
      if (now() - have.at >= ttlMs) {
        load().catch((err: unknown) =>
          deps.warn(`central policy: ${(err as Error).message}; still using the copy from ${new Date(have?.at ?? 0).toISOString()}`),
        );
      }
      return have.config;
    },
  };
}
