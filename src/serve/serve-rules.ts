// What `jobrole serve` needs from a config beyond what every config needs: an issuer, an audience, broker-able roles.

import { ConfigError } from '../config/fields.js';
import { parseServe } from '../config/serve-section.js';
import type { JobroleConfig, RoleConfig, ServeSection } from '../config/types.js';

/** Strategies the broker can serve: it has no instance whose profile it could swap for one job. */
export function servableRole(role: RoleConfig): boolean {
  return role.strategy === 'assume-role' || role.strategy === 'web-identity';
}

export function instanceProfileRefusal(role: RoleConfig): string {
  return `[[roles]] "${role.name}".strategy = "instance-profile": jobrole serve cannot serve it (swapping an instance profile gives the role to a whole host, not to one job); use "assume-role" or "web-identity" for roles served by the broker`;
}

/** The [serve] section with its audience resolved; throws ConfigError naming the key that stops the broker. */
export function serveSettings(config: JobroleConfig): ServeSection {
  const serve = config.serve ?? parseServe(undefined);
  if (config.gitlab.url === '') {
    throw new ConfigError(
      "[gitlab].url: required by jobrole serve (the job's ID token is the only credential the broker accepts; set it to the GitLab instance that signs them)",
    );
  }
  const audience = serve.audience !== '' ? serve.audience : config.gitlab.audience;
  if (audience === '') throw new ConfigError('[serve].audience: required (the `aud` jobs put in id_tokens: for the broker)');
  for (const role of config.roles) if (!servableRole(role)) throw new ConfigError(instanceProfileRefusal(role));
  return { ...serve, audience };
}
