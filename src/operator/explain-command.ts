// CLI glue for `jobrole explain`: reads the files an operator points at and prints the explanation.

import type { JobroleConfig } from '../config/types.js';
import { SystemFailure } from '../core/exit-codes.js';
import { explain } from './explain.js';
import { withFleetPolicy } from '../policy/fleet-policy.js';
import { readIdTokenArg } from '../identity/id-token-arg.js';

export async function explainCommand(opts: {
  config: JobroleConfig;
  responseFile: string; /** The token, a file holding it, or "-" for stdin. */
  idToken: string | undefined;
  vars: string[];
}): Promise<number> {
  const variables: Record<string, string> = {};
  for (const v of opts.vars) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new SystemFailure(`--var ${JSON.stringify(v)}: expected KEY=VALUE`);
    variables[v.slice(0, eq)] = v.slice(eq + 1);
  }
  const idToken = opts.idToken !== undefined ? await readIdTokenArg(opts.idToken) : undefined;
  const config = await withFleetPolicy(opts.config, { warn: (m) => process.stderr.write(`jobrole: warning: ${m}\n`) });
  const r = await explain({ config, responseFile: opts.responseFile, variables, ...(idToken !== undefined ? { idToken } : {}) });
  process.stdout.write(r.text.endsWith('\n') ? r.text : `${r.text}\n`);
  return r.decision.kind === 'deny' ? 1 : 0;
}
