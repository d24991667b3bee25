// Central policy text (TOML from an SSM parameter): parsed into roles, then merged with config.toml's roles.

import { parse, TomlError } from 'smol-toml';
import { ConfigError } from '../config/fields.js';
import { checkConfigRules, parseRole } from '../config/schema.js';
import type { JobroleConfig, RoleConfig } from '../config/types.js';

export interface CentralPolicy {
  roles: RoleConfig[];
  /** Present when the parameter sets default_role (an empty string means "no default role"). */
  defaultRole?: string;
}

const KNOWN = ['roles', 'default_role'];

/** Throws ConfigError naming the key; the caller adds the parameter's name. */
export function parseCentralPolicy(text: string): CentralPolicy {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = (err.message.split('\n')[0] ?? err.message).replace(/^Invalid TOML document: /, '');
      throw new ConfigError(`not valid TOML at line ${err.line}, column ${err.column}: ${first}`);
    }
    throw new ConfigError(`not valid TOML: ${(err as Error).message}`);
  }
  for (const key of Object.keys(doc)) {
    if (!KNOWN.includes(key)) throw new ConfigError(`${key}: not allowed in the central policy (only [[roles]] entries and default_role)`);
  }
  const rolesRaw = doc.roles ?? [];
  if (!Array.isArray(rolesRaw)) throw new ConfigError('roles: expected [[roles]] entries (an array of tables)');
  const roles = rolesRaw.map((r, i) => parseRole(r, `[[roles]] #${i + 1}`));
  const out: CentralPolicy = { roles };
  if (doc.default_role !== undefined) {
    if (typeof doc.default_role !== 'string') throw new ConfigError(`default_role = ${JSON.stringify(doc.default_role)}: expected a role name (a string)`);
    out.defaultRole = doc.default_role;
  }
  return out;
}

/**
 * config.toml's roles plus the central ones; a central role replaces a local one of the same name, and a
 * central default_role replaces [job].default_role. Cross-key rules are checked again on the result,
 * including that the default role exists. Throws ConfigError. `notes` says what the central policy replaced.
 */
export function mergeCentralPolicy(config: JobroleConfig, central: CentralPolicy): { config: JobroleConfig; notes: string[] } {
  const centralNames = new Set(central.roles.map((r) => r.name));
  const replaced = config.roles.filter((r) => centralNames.has(r.name)).map((r) => r.name);
  const roles = [...config.roles.filter((r) => !centralNames.has(r.name)), ...central.roles];
  const job = { ...config.job };
  const notes: string[] = [];
  if (replaced.length > 0)
    notes.push(`role${replaced.length > 1 ? 's' : ''} ${replaced.map((n) => `"${n}"`).join(', ')} from ${config.source} replaced by the central definition`);
  if (central.defaultRole !== undefined && central.defaultRole !== config.job.default_role) {
    if (config.job.default_role !== '')
      notes.push(`[job].default_role "${config.job.default_role}" replaced by the central default_role "${central.defaultRole}"`);
    job.default_role = central.defaultRole;
  }
  const merged: JobroleConfig = { ...config, job, roles };
  // With ssm_parameter set, checkConfigRules skips the default-role lookup (roles could be central); now they are all here.
  checkConfigRules({ ...merged, policy: { ...merged.policy, ssm_parameter: '' } });
  return { config: merged, notes };
}
