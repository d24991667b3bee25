// CLI glue for `jobrole explain --id-token <token|file|-> [--role <name>]` without --response: the broker's decision.

import { withFleetPolicy } from '../policy/fleet-policy.js';
import type { JobroleConfig } from '../config/types.js';
import { ConfigError } from '../config/fields.js';
import { readIdTokenArg } from '../identity/id-token-arg.js';
import { SystemFailure } from '../core/exit-codes.js';
import { explainToken } from './explain-token.js';

export async function explainTokenCommand(opts: { config: JobroleConfig; idToken: string | undefined; role: string | undefined }): Promise<number> {
  if (opts.idToken === undefined) {
    throw new SystemFailure('explain: pass --response <file> (a job of this runner) or --id-token <token|file|-> (a job asking jobrole serve)');
  }
  const warn = (m: string) => void process.stderr.write(`jobrole: warning: ${m}\n`);
  const raw = await readIdTokenArg(opts.idToken);
  const config = await withFleetPolicy(opts.config, { warn });
  let r;
  try {
    r = await explainToken({ config, idToken: raw, ...(opts.role !== undefined ? { role: opts.role } : {}), warn });
  } catch (err) {
    if (err instanceof ConfigError) throw new SystemFailure(`config ${config.source}: ${err.message}`, { cause: err });
    throw err;
  }
  process.stdout.write(r.text);
  return r.rejected || r.decision?.kind === 'deny' ? 1 : 0;
}
