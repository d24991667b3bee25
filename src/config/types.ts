// The validated configuration every part of the driver reads (durations already in seconds).

/** Every credential strategy config.toml accepts; each has its implementation in stages/registry.ts. */
export const STRATEGIES = ['assume-role', 'web-identity', 'instance-profile'] as const;
export type Strategy = (typeof STRATEGIES)[number];
/** Every delivery config.toml accepts; each has its implementation in stages/registry.ts. */
export const DELIVERIES = ['endpoint', 'env', 'file', 'web-identity-file'] as const;
export type Delivery = (typeof DELIVERIES)[number];
export type Isolation = 'users' | 'none';
export type ConflictMode = 'refuse' | 'warn';
export type SourceIdentitySource = 'job' | 'project' | 'user_login' | 'none';
export type RefType = 'branch' | 'tag';

export interface AllowConditions {
  /** Project path globs; matched against the response file's project and, with an ID token, the token's. */
  projects?: string[];
  refs?: string[];
  ref_types?: RefType[];
  /** git_info.protected (gitlab-runner >= 18.3), else a verified ID token's ref_protected. */
  protected?: boolean;
  /** Needs a verified ID token. */
  environments?: string[];
  /** Needs a verified ID token. */
  environment_protected?: boolean;
  /** Needs a verified ID token. */
  deployment_tiers?: string[];
  /** Needs a verified ID token. */
  pipeline_sources?: string[];
  /** Needs a verified ID token. */
  user_logins?: string[];
}

export interface RoleConfig {
  name: string;
  arn: string;
  strategy: Strategy;
  /** For strategy instance-profile: the profile's ARN or name. */
  instance_profile: string;
  /** Seconds. */
  max_duration: number;
  session_policy: string;
  policy_arns: string[];
  /** Overrides [job].delivery for this role when set. */
  delivery?: Delivery;
  allow: AllowConditions;
}

export interface DriverSection {
  state_dir: string;
  builds_dir: string;
  cache_dir: string;
  audit_log: string;
  /** Concurrent job slots on this host; one job user per slot. */
  slots: number;
  /** Job users are named <prefix><slot>, e.g. jobrole-job1. */
  job_user_prefix: string;
  /** Where job users' homes live. */
  home_dir: string;
  /** nftables table (family inet) holding the rule that keeps job users off the metadata service. */
  firewall_table: string;
  /** Size cap of each job's private tmpfs holding /tmp, /var/tmp, /dev/shm, /run/lock and its home. */
  job_tmp_size: string;
  /** cgroup v2 pids.max of each job (0 = no limit). */
  job_pids_max: number;
  /** cgroup v2 memory.max of each job ('' = no limit). */
  job_memory_max: string;
}

export interface AwsSection {
  region: string;
  sts_endpoint: string;
  ec2_endpoint: string;
  ssm_endpoint: string;
  imds_endpoint: string;
  /** Attempts for throttling/5xx before a system failure. */
  max_attempts: number;
}

export interface JobSection {
  role_variable: string;
  id_token_variable: string;
  default_role: string;
  delivery: Delivery;
  isolation: Isolation;
  conflicting_variables: ConflictMode;
  source_identity: SourceIdentitySource;
  /** Send session tags built from the job (project, ref, job and pipeline ids). */
  session_tags: boolean;
  /** Seconds; credentials are refreshed this long before they expire (endpoint delivery). */
  refresh_before: number;
}

export interface GitlabSection {
  /** Issuer of ID tokens; empty = ID-token verification not configured. */
  url: string;
  audience: string;
  jwks_file: string;
  /** Seconds the on-disk JWKS cache is trusted. */
  jwks_cache_ttl: number;
  /** Seconds of clock skew tolerated on exp/nbf/iat. */
  clock_skew: number;
}

export interface InstanceProfileSection {
  /** Seconds to wait for the metadata service to serve the job's role before restoring and failing. */
  propagation_timeout: number;
  poll_interval_ms: number;
  /** Seconds between the endpoint's checks whether IMDS has rotated the job role's credentials. */
  rotation_poll_interval: number;
}

export interface PolicySection {
  /** SSM parameter holding [[roles]] as TOML (String or SecureString); empty = roles from this file only. */
  ssm_parameter: string;
  /** Seconds the cached central policy is used before SSM is asked again. */
  cache_ttl: number;
}

/** `jobrole serve`: the HTTPS credentials broker for jobs on any executor. */
export interface ServeSection {
  /** host:port to listen on. */
  listen: string;
  /** PEM files; both or neither (neither = plain HTTP, allowed only on a loopback address). */
  tls_cert: string;
  tls_key: string;
  /** The `aud` a job's ID token must carry for the broker; empty in the file = [gitlab].audience. */
  audience: string;
  /** Requests per second one job may make (bursts of 5x are allowed); above it: 429. */
  rate_limit: number;
  /** At most this many (job, role) sessions are cached; the least recently used goes first. */
  max_cached: number;
}

export interface JobroleConfig {
  /** Where the config was loaded from (for messages). */
  source: string;
  driver: DriverSection;
  aws: AwsSection;
  job: JobSection;
  gitlab: GitlabSection;
  instance_profile: InstanceProfileSection;
  policy: PolicySection;
  roles: RoleConfig[];
  /** Present when the file has a [serve] section. */
  serve?: ServeSection;
}
