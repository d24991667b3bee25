// Roles that grant on conditions a job author chooses (environment, tier, pipeline source, user) without a protection.

import type { AllowConditions, RoleConfig } from '../config/types.js';

/** Chosen by whoever writes .gitlab-ci.yml or triggers the pipeline, unless the ref or the environment is protected. */
const AUTHOR_CONTROLLED = ['environments', 'deployment_tiers', 'pipeline_sources', 'user_logins'] as const satisfies ReadonlyArray<keyof AllowConditions>;

/** One line per role naming its author-controlled conditions, when neither protected nor environment_protected is true. */
export function authorControlledWarnings(roles: readonly RoleConfig[]): string[] {
  const out: string[] = [];
  for (const role of roles) {
    const a = role.allow;
    if (a.protected === true || a.environment_protected === true) continue;
    const conds = AUTHOR_CONTROLLED.filter((c) => a[c] !== undefined);
    if (conds.length === 0) continue;
    out.push(
      `[[roles]] "${role.name}" grants on ${conds.map((c) => `allow.${c}`).join(', ')}, which whoever writes .gitlab-ci.yml or triggers the pipeline chooses; ` +
        'add protected = true or environment_protected = true so only protected code or deployments get it',
    );
  }
  return out;
}
