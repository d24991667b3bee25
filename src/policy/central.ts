// Central policy: [[roles]] from an SSM parameter, cached on disk, merged into config.toml's roles.

import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError } from '../config/fields.js';
import { formatDuration } from '../config/duration.js';
import type { JobroleConfig } from '../config/types.js';
import { describeAwsError, errorCode, isMissingHostCredentials, isTransient } from '../aws/errors.js';
import { SystemFailure } from '../core/exit-codes.js';
import { centralCachePath, readCentralCache, writeCentralCache, type CentralCacheEntry } from './central-cache.js';
import { mergeCentralPolicy, parseCentralPolicy } from './central-parse.js';

export interface CentralPolicyDeps {
  ssm: () => Promise<SSMClient>;
  /** Root-only directory for the cache file (the state layout's cache dir). */
  cacheDir: string;
  now?: () => Date;
  warn: (msg: string) => void;
}

/** A cache entry dated this far in the future means the clock moved back: treat it as stale. */
const FUTURE_TOLERANCE_MS = 60_000;

type Resolved = { config: JobroleConfig; notes: string[] };

class BrokenParameter extends Error {}

async function fetchParameter(deps: CentralPolicyDeps, name: string): Promise<{ text: string; version: number | undefined }> {
  const client = await deps.ssm();
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const out = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  const p = out.Parameter;
  if (p?.Type === 'StringList') throw new BrokenParameter('it is a StringList; store the TOML as a String or SecureString parameter');
  if (p?.Value === undefined) throw new BrokenParameter('SSM returned it without a value');
  return { text: p.Value, version: p.Version };
}

function advice(err: unknown): string {
  const code = errorCode(err);
  if (isMissingHostCredentials(err)) return 'this host has no AWS credentials to read it with (attach an instance profile)';
  if (code === 'ParameterNotFound') return 'it does not exist in this account and region: create it, or fix [policy].ssm_parameter / [aws].region';
  if (code === 'AccessDeniedException' || code === 'AccessDenied' || code.startsWith('KMS') || code === 'InvalidKeyId') {
    return "the host's role needs ssm:GetParameter on it (and kms:Decrypt on its key for a SecureString)";
  }
  if (isTransient(err)) return 'SSM is unreachable or throttling';
  return 'check [aws].ssm_endpoint, the region and the network';
}

/**
 * The config with the central policy merged in; unchanged (no SSM, no disk) when [policy].ssm_parameter is
 * empty. Within [policy].cache_ttl the cached copy is used without asking SSM. Past it SSM is asked; when SSM
 * fails, or the parameter no longer parses or validates, the last good cached copy is used with a warning
 * giving its age; with no good copy either way the result is a SystemFailure naming the parameter.
 */
export async function withCentralPolicy(config: JobroleConfig, deps: CentralPolicyDeps): Promise<JobroleConfig> {
  const name = config.policy.ssm_parameter;
  if (name === '') return config;
  const now = () => (deps.now ?? (() => new Date()))().getTime();
  const label = `central policy (SSM parameter ${name})`;
  const resolve = (text: string): Resolved => mergeCentralPolicy(config, parseCentralPolicy(text));
  const finish = (r: Resolved): JobroleConfig => {
    if (r.notes.length > 0) deps.warn(`${label}: ${r.notes.join('; ')}`);
    return r.config;
  };

  const cached = await readCentralCache(deps.cacheDir, name, deps.warn);
  let good: Resolved | undefined;
  if (cached !== undefined) {
    try {
      good = resolve(cached.text);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      deps.warn(`${label}: the cached copy in ${centralCachePath(deps.cacheDir)} no longer validates (${err.message}); ignoring it`);
    }
  }
  const ageMs = cached === undefined ? undefined : now() - cached.fetchedAt;
  if (good !== undefined && ageMs !== undefined && ageMs >= -FUTURE_TOLERANCE_MS && ageMs < config.policy.cache_ttl * 1000) return finish(good);
  const staleNote = (c: CentralCacheEntry) =>
    `the last good copy${c.version !== undefined ? ` (version ${c.version})` : ''}, fetched ${new Date(c.fetchedAt).toISOString()} (${formatDuration(Math.max(0, (now() - c.fetchedAt) / 1000))} ago)`;

  let fetched: { text: string; version: number | undefined };
  let broken: string | undefined;
  try {
    fetched = await fetchParameter(deps, name);
  } catch (err) {
    if (!(err instanceof BrokenParameter)) {
      if (good !== undefined && cached !== undefined) {
        deps.warn(`${label} cannot be read (${describeAwsError(err)}): ${advice(err)}. Using ${staleNote(cached)}.`);
        return finish(good);
      }
      throw new SystemFailure(
        `${label} cannot be read and there is no cached copy to fall back on: ${describeAwsError(err)}; ${advice(err)}${isTransient(err) ? ' (the runner retries the job)' : ''}`,
        { cause: err },
      );
    }
    broken = err.message;
    fetched = { text: '', version: undefined };
  }

  let result: Resolved | undefined;
  if (broken === undefined) {
    try {
      result = resolve(fetched.text);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      broken = err.message;
    }
  }
  if (result === undefined) {
    const which = fetched.version !== undefined ? `${label}, version ${fetched.version},` : label;
    if (good !== undefined && cached !== undefined) {
      deps.warn(`${which} is unusable: ${broken ?? 'unknown problem'}. Fix the parameter; until then jobs use ${staleNote(cached)}.`);
      return finish(good);
    }
    throw new SystemFailure(`${which} is unusable: ${broken ?? 'unknown problem'}`);
  }
  try {
    await writeCentralCache(deps.cacheDir, { parameter: name, fetchedAt: now(), version: fetched.version, text: fetched.text });
  } catch (err) {
    deps.warn(`${label}: cannot write the cache ${centralCachePath(deps.cacheDir)} (${(err as Error).message}); SSM will be asked again next time`);
  }
  return finish(result);
}
