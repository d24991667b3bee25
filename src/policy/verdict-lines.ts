// The per-role lines of `jobrole explain` (runner and broker view): would allow or refuse, and each condition's verdict.

import type { RoleConfig } from '../config/types.js';
import type { Verdict } from './evaluate.js';

export interface RoleLinesOptions {
  allows: boolean;
  /** The role the job asked for (marked "<- requested"). */
  requested: boolean;
  /** Who may have a role without conditions, e.g. "any job on this runner may have it". */
  unconditional: string;
}

export function roleVerdictLines(role: Pick<RoleConfig, 'name' | 'arn' | 'strategy'>, verdicts: Verdict[], opts: RoleLinesOptions): string[] {
  return [
    `  ${role.name} (${role.arn}, ${role.strategy}): ${opts.allows ? 'would allow' : 'would refuse'}${opts.requested ? '   <- requested' : ''}`,
    ...(verdicts.length === 0 ? [`      (no conditions: ${opts.unconditional})`] : []),
    ...verdicts.map((v) => `      ${v.ok ? 'ok    ' : 'FAILED'} ${v.condition}: ${v.detail}`),
  ];
}
