// CLI glue for `jobrole doctor`: loads the config (a broken one is itself a failed check) and prints one line per check.

import { loadConfig } from '../config/load.js';
import type { JobroleConfig } from '../config/types.js';
import { runDoctor } from './doctor.js';

export async function doctorCommand(opts: { configPath: string; runnerConfig: string | undefined; dryRunRoles: boolean; serve?: boolean }): Promise<number> {
  let config: JobroleConfig | undefined;
  let configError: string | undefined;
  try {
    config = await loadConfig(opts.configPath);
  } catch (err) {
    configError = (err as Error).message;
  }
  const r = await runDoctor({
    ...(config !== undefined ? { config } : {}),
    ...(configError !== undefined ? { configError } : {}),
    ...(opts.runnerConfig !== undefined ? { runnerConfigPath: opts.runnerConfig } : {}),
    dryRunRoles: opts.dryRunRoles,
    ...(opts.serve === true ? { serve: true } : {}),
  });
  for (const line of r.lines) process.stdout.write(`${line}\n`);
  return r.ok ? 0 : 1;
}
