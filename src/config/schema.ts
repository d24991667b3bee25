// The config.toml schema: every key, its default and its rule; cross-key checks that keep policy honest.

import type {
  AllowConditions,
  AwsSection,
  DriverSection,
  GitlabSection,
  InstanceProfileSection,
  JobSection,
  JobroleConfig,
  PolicySection,
  RoleConfig,
} from './types.js';
import { parseServe } from './serve-section.js';
import { DELIVERIES, STRATEGIES } from './types.js';
import { ConfigError, absPath, bool, duration, int, list, oneOf, parseTable, str, table, url } from './fields.js';

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/[\w+=,.@/-]{1,512}$/;
const PROFILE = /^(arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,512}|[\w+=,.@-]{1,128})$/;
const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const USER_PREFIX = /^[a-z_][a-z0-9_-]{0,24}$/;
const SIZE = /^[1-9]\d{0,15}[KMG]?$/;

/**
 * Conditions whose facts only a verified ID token provides. `protected` is not one: gitlab-runner >= 18.3 sends
 * git_info.protected from GitLab; with an older runner the job needs an ID token, and the refusal says so.
 */
export const ID_TOKEN_CONDITIONS = [
  'environments',
  'environment_protected',
  'deployment_tiers',
  'pipeline_sources',
  'user_logins',
] as const satisfies ReadonlyArray<keyof AllowConditions>;

const globs = list(str({ hint: 'a glob such as "group/*"', maxLength: 512 }), { max: 200 });

function parseDriver(raw: unknown): DriverSection {
  return parseTable<DriverSection>(raw, '[driver]', {
    state_dir: { field: absPath(), default: '/var/lib/jobrole' },
    builds_dir: { field: absPath(), default: '/var/lib/jobrole/builds' },
    cache_dir: { field: absPath(), default: '/var/lib/jobrole/cache' },
    audit_log: { field: absPath(), default: '/var/log/jobrole/audit.jsonl' },
    slots: { field: int(1, 64), default: 4 },
    job_user_prefix: { field: str({ pattern: USER_PREFIX, hint: 'a user-name prefix of lower-case letters, digits, "_" or "-"' }), default: 'jobrole-job' },
    home_dir: { field: absPath(), default: '/var/lib/jobrole/home' },
    firewall_table: { field: str({ pattern: /^[a-zA-Z_][a-zA-Z0-9_-]{0,30}$/, hint: 'an nftables table name' }), default: 'jobrole' },
    job_tmp_size: { field: str({ pattern: SIZE, hint: 'a size such as "2G" or "512M"' }), default: '1G' },
    job_pids_max: { field: int(0, 4_194_304), default: 0 },
    job_memory_max: { field: str({ pattern: SIZE, allowEmpty: true, hint: 'a size such as "8G", or "" for no limit' }), default: '' },
  });
}

function parseAws(raw: unknown): AwsSection {
  return parseTable<AwsSection>(raw, '[aws]', {
    region: { field: str({ pattern: /^[a-z]{2}(-[a-z]+)+-\d$/, hint: 'an AWS region such as "us-east-1"' }), default: 'us-east-1' },
    sts_endpoint: { field: url({ allowEmpty: true }), default: '' },
    ec2_endpoint: { field: url({ allowEmpty: true }), default: '' },
    ssm_endpoint: { field: url({ allowEmpty: true }), default: '' },
    imds_endpoint: { field: url({ allowEmpty: true }), default: '' },
    max_attempts: { field: int(1, 20), default: 6 },
  });
}

function parseJob(raw: unknown): JobSection {
  return parseTable<JobSection>(raw, '[job]', {
    role_variable: { field: str({ pattern: VARIABLE, hint: 'a CI variable name' }), default: 'JOBROLE_ROLE' },
    id_token_variable: { field: str({ pattern: VARIABLE, hint: 'a CI variable name' }), default: 'JOBROLE_ID_TOKEN' },
    default_role: { field: str(), default: '' },
    delivery: { field: oneOf(DELIVERIES), default: 'endpoint' },
    isolation: { field: oneOf(['users', 'none'] as const), default: 'users' },
    conflicting_variables: { field: oneOf(['refuse', 'warn'] as const), default: 'refuse' },
    source_identity: { field: oneOf(['job', 'project', 'user_login', 'none'] as const), default: 'job' },
    session_tags: { field: bool(), default: true },
    refresh_before: { field: duration(60, 3000), default: 1200 },
  });
}

function parseGitlab(raw: unknown): GitlabSection {
  const g = parseTable<GitlabSection>(raw, '[gitlab]', {
    url: { field: url({ allowEmpty: true }), default: '' },
    audience: { field: str(), default: '' },
    jwks_file: { field: str(), default: '' },
    jwks_cache_ttl: { field: duration(0, 7 * 86400), default: 3600 },
    clock_skew: { field: duration(0, 600), default: 60 },
  });
  if (g.jwks_file !== '' && !g.jwks_file.startsWith('/')) throw new ConfigError(`[gitlab].jwks_file = "${g.jwks_file}": expected an absolute path`);
  if (g.jwks_file !== '' && g.url === '') {
    throw new ConfigError(`[gitlab].jwks_file is set but [gitlab].url is empty: the url is the issuer every ID token's "iss" must equal; set it too`);
  }
  if (g.audience === '') g.audience = g.url;
  return g;
}

function parseInstanceProfile(raw: unknown): InstanceProfileSection {
  return parseTable<InstanceProfileSection>(raw, '[instance_profile]', {
    propagation_timeout: { field: duration(5, 1800), default: 120 },
    poll_interval_ms: { field: int(50, 60000), default: 1000 },
    rotation_poll_interval: { field: duration(1, 3600), default: 60 },
  });
}

function parsePolicy(raw: unknown): PolicySection {
  return parseTable<PolicySection>(raw, '[policy]', {
    ssm_parameter: { field: str({ pattern: /^\/?[\w.\-/]{1,1011}$/, hint: 'an SSM parameter name such as "/jobrole/roles"', allowEmpty: true }), default: '' },
    cache_ttl: { field: duration(0, 86400), default: 300 },
  });
}

function parseAllow(raw: unknown, key: string): AllowConditions {
  return parseTable<AllowConditions>(raw, key, {
    projects: { field: globs, default: undefined },
    refs: { field: globs, default: undefined },
    ref_types: { field: list(oneOf(['branch', 'tag'] as const)), default: undefined },
    protected: { field: bool(), default: undefined },
    environments: { field: globs, default: undefined },
    environment_protected: { field: bool(), default: undefined },
    deployment_tiers: { field: list(oneOf(['production', 'staging', 'testing', 'development', 'other'] as const)), default: undefined },
    pipeline_sources: { field: globs, default: undefined },
    user_logins: { field: globs, default: undefined },
  });
}

export function parseRole(raw: unknown, key: string): RoleConfig {
  const input = table(raw, key);
  const { allow, ...rest } = input;
  const name = typeof input.name === 'string' ? input.name : undefined;
  const label = name !== undefined ? `[[roles]] "${name}"` : key;
  const role = parseTable<Omit<RoleConfig, 'allow'>>(rest, label, {
    name: { field: str({ pattern: ROLE_NAME, hint: 'a role name of letters, digits, ".", "_" or "-" (at most 64)' }) },
    arn: { field: str({ pattern: ROLE_ARN, hint: 'an IAM role ARN such as "arn:aws:iam::111122223333:role/deploy"' }) },
    strategy: { field: oneOf(STRATEGIES), default: 'assume-role' },
    instance_profile: { field: str({ pattern: PROFILE, hint: 'an instance profile ARN or name', allowEmpty: true }), default: '' },
    max_duration: { field: duration(900, 43200), default: 3600 },
    session_policy: { field: str({ maxLength: 2048 }), default: '' },
    policy_arns: { field: list(str({ pattern: POLICY_ARN, hint: 'a managed policy ARN' }), { max: 10 }), default: [] },
    delivery: { field: oneOf(DELIVERIES), default: undefined },
  });
  if (role.arn === '') throw new ConfigError(`${label}.arn: required (an IAM role ARN)`);
  if (role.session_policy !== '') {
    try {
      JSON.parse(role.session_policy);
    } catch {
      throw new ConfigError(`${label}.session_policy: expected an IAM policy as JSON text (it does not parse as JSON)`);
    }
  }
  if (role.strategy === 'instance-profile' && role.instance_profile === '') {
    throw new ConfigError(`${label}.instance_profile: required with strategy = "instance-profile" (the profile's ARN or name)`);
  }
  if (role.strategy !== 'instance-profile' && role.instance_profile !== '') {
    throw new ConfigError(
      `${label}.instance_profile = "${role.instance_profile}": only used with strategy = "instance-profile" (strategy is "${role.strategy}")`,
    );
  }
  if (role.strategy === 'instance-profile' && role.delivery !== undefined && role.delivery !== 'endpoint') {
    throw new ConfigError(
      `${label}.delivery = "${role.delivery}": strategy = "instance-profile" is always delivered through the per-job endpoint (the driver reads IMDS, the job never does); remove delivery or set it to "endpoint"`,
    );
  }
  return { ...role, allow: parseAllow(allow, `${label}.allow`) };
}

/** Rules that involve more than one key. */
function crossCheck(c: JobroleConfig): void {
  const names = new Set<string>();
  for (const role of c.roles) {
    if (names.has(role.name)) throw new ConfigError(`[[roles]] "${role.name}": defined twice (role names must be unique)`);
    names.add(role.name);
    const verification = c.gitlab.url !== '';
    for (const cond of ID_TOKEN_CONDITIONS) {
      if (role.allow[cond] !== undefined && !verification) {
        throw new ConfigError(
          `[[roles]] "${role.name}".allow.${cond}: needs a verified GitLab ID token, but ID-token verification is not configured (set [gitlab].url); job variables cannot prove this fact`,
        );
      }
    }
    const delivery = role.delivery ?? c.job.delivery;
    if (role.strategy === 'web-identity' && !verification) {
      throw new ConfigError(`[[roles]] "${role.name}".strategy = "web-identity": needs [gitlab].url so the job's ID token is verified before it is used`);
    }
    if (delivery === 'web-identity-file' && role.strategy !== 'web-identity') {
      throw new ConfigError(
        `[[roles]] "${role.name}": delivery "web-identity-file" works only with strategy = "web-identity" (strategy is "${role.strategy}")`,
      );
    }
    if (role.strategy === 'instance-profile' && c.driver.slots !== 1) {
      throw new ConfigError(
        `[[roles]] "${role.name}".strategy = "instance-profile": swapping the instance profile gives the role to every process on the host, so it needs one job at a time: set [driver].slots = 1 (and concurrent/limit = 1 for this runner); [driver].slots is ${c.driver.slots}`,
      );
    }
  }
  if (c.job.default_role !== '' && !names.has(c.job.default_role) && c.policy.ssm_parameter === '') {
    throw new ConfigError(`[job].default_role = "${c.job.default_role}": no [[roles]] entry has that name (roles: ${[...names].join(', ') || 'none'})`);
  }
  if (c.job.source_identity === 'user_login' && c.gitlab.url === '') {
    throw new ConfigError(
      `[job].source_identity = "user_login": the user's login is only trusted from a verified ID token; configure [gitlab].url or choose "job", "project" or "none"`,
    );
  }
  if (c.job.role_variable === c.job.id_token_variable) {
    throw new ConfigError(`[job].role_variable and [job].id_token_variable are both "${c.job.role_variable}": they must differ`);
  }
}

/** The driver's own directories inside state_dir, which no job-facing directory may overlap. */
const PRIVATE_STATE_DIRS = ['jobs', 'slots', 'files', 'driver-cache'];

function checkDirectories(d: DriverSection): void {
  const inside = (child: string, parent: string) => child === parent || child.startsWith(`${parent}/`);
  for (const [key, dir] of [
    ['builds_dir', d.builds_dir],
    ['cache_dir', d.cache_dir],
    ['home_dir', d.home_dir],
  ] as const) {
    if (dir === d.state_dir) throw new ConfigError(`[driver].${key} = "${dir}": must not be state_dir itself`);
    for (const sub of PRIVATE_STATE_DIRS) {
      const priv = `${d.state_dir}/${sub}`;
      if (inside(dir, priv) || inside(priv, dir))
        throw new ConfigError(`[driver].${key} = "${dir}": overlaps the driver's private ${priv}; choose another directory`);
    }
    if (inside(d.audit_log, dir)) throw new ConfigError(`[driver].audit_log = "${d.audit_log}": must not be inside ${key} (job users can write there)`);
  }
  const pairs = [
    ['builds_dir', d.builds_dir],
    ['cache_dir', d.cache_dir],
    ['home_dir', d.home_dir],
  ] as const;
  for (const [a, x] of pairs)
    for (const [b, y] of pairs) {
      if (a < b && (inside(x, y) || inside(y, x)))
        throw new ConfigError(`[driver].${a} = "${x}" and [driver].${b} = "${y}" overlap; give each its own directory`);
    }
}

/** Validates a parsed TOML document into a JobroleConfig. Throws ConfigError with a precise message. */
export function validateConfig(doc: Record<string, unknown>, source: string): JobroleConfig {
  const sections = ['driver', 'aws', 'job', 'gitlab', 'instance_profile', 'policy', 'roles', 'serve'];
  for (const key of Object.keys(doc)) {
    if (!sections.includes(key))
      throw new ConfigError(`[${key}]: unknown section or key (known: ${sections.map((s) => (s === 'roles' ? '[[roles]]' : `[${s}]`)).join(', ')})`);
  }
  const rolesRaw = doc.roles ?? [];
  if (!Array.isArray(rolesRaw)) throw new ConfigError('roles: expected [[roles]] entries (an array of tables)');
  const config: JobroleConfig = {
    source,
    driver: parseDriver(doc.driver),
    aws: parseAws(doc.aws),
    job: parseJob(doc.job),
    gitlab: parseGitlab(doc.gitlab),
    instance_profile: parseInstanceProfile(doc.instance_profile),
    policy: parsePolicy(doc.policy),
    roles: rolesRaw.map((r, i) => parseRole(r, `[[roles]] #${i + 1}`)),
    ...(doc.serve !== undefined ? { serve: parseServe(doc.serve) } : {}),
  };
  checkDirectories(config.driver);
  crossCheck(config);
  return config;
}

export { crossCheck as checkConfigRules };
