// validateConfig / parseRole: defaults, precise messages naming key and value, and the cross-key rules that keep policy honest.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/fields.js';
import { ID_TOKEN_CONDITIONS, parseRole, validateConfig } from '../../src/config/schema.js';

const ARN = 'arn:aws:iam::111122223333:role/deploy';
const role = (extra: Record<string, unknown> = {}) => ({ name: 'deploy', arn: ARN, ...extra });

function rejects(doc: Record<string, unknown>, ...parts: string[]): void {
  assert.throws(
    () => validateConfig(doc, '/etc/jobrole/config.toml'),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      for (const p of parts) assert.ok(err.message.includes(p), `message ${JSON.stringify(err.message)} should include ${JSON.stringify(p)}`);
      return true;
    },
  );
}

test('an empty document is a valid config with the documented defaults', () => {
  const c = validateConfig({}, 'src.toml');
  assert.equal(c.source, 'src.toml');
  assert.deepEqual(c.driver, {
    state_dir: '/var/lib/jobrole',
    builds_dir: '/var/lib/jobrole/builds',
    cache_dir: '/var/lib/jobrole/cache',
    audit_log: '/var/log/jobrole/audit.jsonl',
    slots: 4,
    job_user_prefix: 'jobrole-job',
    home_dir: '/var/lib/jobrole/home',
    firewall_table: 'jobrole',
    job_tmp_size: '1G',
    job_pids_max: 0,
    job_memory_max: '',
  });
  assert.deepEqual(c.aws, { region: 'us-east-1', sts_endpoint: '', ec2_endpoint: '', ssm_endpoint: '', imds_endpoint: '', max_attempts: 6 });
  assert.deepEqual(c.job, {
    role_variable: 'JOBROLE_ROLE',
    id_token_variable: 'JOBROLE_ID_TOKEN',
    default_role: '',
    delivery: 'endpoint',
    isolation: 'users',
    conflicting_variables: 'refuse',
    source_identity: 'job',
    session_tags: true,
    refresh_before: 1200,
  });
  assert.deepEqual(c.gitlab, { url: '', audience: '', jwks_file: '', jwks_cache_ttl: 3600, clock_skew: 60 });
  assert.deepEqual(c.instance_profile, { propagation_timeout: 120, poll_interval_ms: 1000, rotation_poll_interval: 60 });
  assert.deepEqual(c.policy, { ssm_parameter: '', cache_ttl: 300 });
  assert.deepEqual(c.roles, []);
});

test('unknown sections and keys are refused with the known ones listed', () => {
  rejects({ drivers: {} }, '[drivers]: unknown section or key', '[driver]', '[[roles]]');
  rejects({ driver: { slot: 2 } }, '[driver].slot: unknown key', 'slots');
  rejects({ roles: [role({ durationn: '1h' })] }, '[[roles]] "deploy".durationn: unknown key', 'max_duration');
  rejects({ roles: [role({ allow: { project: ['a/b'] } })] }, '[[roles]] "deploy".allow.project: unknown key', 'projects');
  rejects({ roles: { name: 'x' } }, 'roles: expected [[roles]] entries');
  rejects({ driver: 'x' }, '[driver] = "x"', 'expected a table');
});

test('bad values name the key, the value and the expectation', () => {
  rejects({ driver: { slots: 0 } }, '[driver].slots = 0', 'a whole number from 1 to 64');
  rejects({ driver: { state_dir: 'var/lib/jobrole' } }, '[driver].state_dir = "var/lib/jobrole"', 'an absolute path');
  rejects({ driver: { job_user_prefix: 'Job' } }, '[driver].job_user_prefix = "Job"', 'user-name prefix');
  rejects({ aws: { region: 'US-EAST-1' } }, '[aws].region = "US-EAST-1"', 'an AWS region such as "us-east-1"');
  rejects({ aws: { sts_endpoint: 'sts.local' } }, '[aws].sts_endpoint = "sts.local"', 'http(s) URL');
  rejects({ job: { delivery: 'envs' } }, '[job].delivery = "envs"', '"endpoint", "env", "file", "web-identity-file"');
  rejects({ job: { role_variable: 'JOB-ROLE' } }, '[job].role_variable = "JOB-ROLE"', 'a CI variable name');
  rejects({ job: { refresh_before: '1h' } }, '[job].refresh_before = "1h"', 'from 60s to 3000s');
  rejects({ gitlab: { jwks_file: 'keys.json' } }, '[gitlab].jwks_file = "keys.json"', 'absolute path');
  rejects({ policy: { ssm_parameter: 'has space' } }, '[policy].ssm_parameter = "has space"', 'SSM parameter name');
});

test('gitlab.audience defaults to the url; urls lose trailing slashes', () => {
  const c = validateConfig({ gitlab: { url: 'https://gitlab.example.com/' } }, 'x');
  assert.equal(c.gitlab.url, 'https://gitlab.example.com');
  assert.equal(c.gitlab.audience, 'https://gitlab.example.com');
  assert.equal(validateConfig({ gitlab: { url: 'https://g.example', audience: 'sts' } }, 'x').gitlab.audience, 'sts');
});

test('parseRole: defaults, durations in seconds, allow conditions kept as written', () => {
  const r = parseRole(role({ max_duration: '2h', allow: { projects: ['group/*'], ref_types: ['tag'] } }), '[[roles]] #1');
  assert.deepEqual(r, {
    name: 'deploy',
    arn: ARN,
    strategy: 'assume-role',
    instance_profile: '',
    max_duration: 7200,
    session_policy: '',
    policy_arns: [],
    allow: { projects: ['group/*'], ref_types: ['tag'] },
  });
  assert.ok(!('delivery' in r), 'delivery absent unless set');
  assert.equal(parseRole(role({ delivery: 'env' }), 'k').delivery, 'env');
});

test('parseRole: name, arn and policies are checked', () => {
  const bad = (raw: Record<string, unknown>, ...parts: string[]) =>
    assert.throws(
      () => parseRole(raw, '[[roles]] #3'),
      (e: unknown) => e instanceof ConfigError && parts.every((p) => e.message.includes(p)),
    );
  bad({ arn: ARN }, '[[roles]] #3.name: required');
  bad({ name: 'deploy' }, '[[roles]] "deploy".arn: required');
  bad(role({ name: 'de ploy' }), '[[roles]] "de ploy".name = "de ploy"', 'a role name');
  bad(role({ arn: 'arn:aws:iam::1111:role/x' }), '.arn = "arn:aws:iam::1111:role/x"', 'an IAM role ARN');
  bad(role({ arn: 'arn:aws:iam::111122223333:user/x' }), 'an IAM role ARN');
  bad(role({ session_policy: '{"Version":' }), '[[roles]] "deploy".session_policy', 'does not parse as JSON');
  bad(role({ session_policy: 'x'.repeat(2049) }), 'at most 2048 characters');
  bad(role({ policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'nope'] }), '.policy_arns[1] = "nope"', 'a managed policy ARN');
  bad(role({ policy_arns: Array.from({ length: 11 }, () => 'arn:aws:iam::aws:policy/ReadOnlyAccess') }), 'at most 10 entries');
  bad(role({ max_duration: '14m' }), '.max_duration = "14m"', 'from 900s to 43200s');
  bad(role({ strategy: 'instance-profile' }), '.instance_profile: required with strategy = "instance-profile"');
  bad(role({ instance_profile: 'prof' }), '.instance_profile = "prof": only used with strategy = "instance-profile"', 'strategy is "assume-role"');
  bad(role({ strategy: 'instance-profile', instance_profile: 'prof', delivery: 'env' }), '.delivery = "env"', 'always delivered through the per-job endpoint');
  assert.equal(parseRole(role({ strategy: 'instance-profile', instance_profile: 'prof', delivery: 'endpoint' }), 'k').delivery, 'endpoint');
  bad(role({ allow: { ref_types: ['branch', 'commit'] } }), '.allow.ref_types[1] = "commit"', '"branch", "tag"');
  bad(role({ allow: { protected: 'yes' } }), '.allow.protected = "yes"', 'true or false');
  assert.equal(parseRole(role({ policy_arns: ['arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess'] }), 'k').policy_arns.length, 1);
  assert.equal(parseRole(role({ arn: 'arn:aws-cn:iam::111122223333:role/path/to/r' }), 'k').arn, 'arn:aws-cn:iam::111122223333:role/path/to/r');
});

test('role names must be unique', () => {
  rejects({ roles: [role(), role()] }, '[[roles]] "deploy": defined twice');
});

test('every ID-token condition without ID-token verification is a config error, not a guess', () => {
  const values: Record<(typeof ID_TOKEN_CONDITIONS)[number], unknown> = {
    environments: ['production'],
    environment_protected: true,
    deployment_tiers: ['production'],
    pipeline_sources: ['push'],
    user_logins: ['alice'],
  };
  for (const cond of ID_TOKEN_CONDITIONS) {
    const doc = { roles: [role({ allow: { [cond]: values[cond] } })] };
    rejects(doc, `[[roles]] "deploy".allow.${cond}: needs a verified GitLab ID token`, '[gitlab].url', 'job variables cannot prove this fact');
    assert.doesNotThrow(() => validateConfig({ ...doc, gitlab: { url: 'https://gitlab.example.com' } }, 'x'));
    assert.doesNotThrow(() => validateConfig({ ...doc, gitlab: { url: 'https://gitlab.example.com', jwks_file: '/etc/jobrole/jwks.json' } }, 'x'));
    assert.throws(() => validateConfig({ ...doc, gitlab: { jwks_file: '/etc/jobrole/jwks.json' } }, 'x'), /jwks_file is set but \[gitlab\].url is empty/);
  }
  // Response-file facts need no token; protected comes from git_info.protected with gitlab-runner >= 18.3.
  assert.doesNotThrow(() => validateConfig({ roles: [role({ allow: { projects: ['g/*'], refs: ['main'], ref_types: ['branch'] } })] }, 'x'));
  assert.doesNotThrow(() => validateConfig({ roles: [role({ allow: { projects: ['g/*'], protected: true } })] }, 'x'));
});

test('strategy and delivery combinations', () => {
  rejects({ roles: [role({ strategy: 'web-identity' })] }, '"deploy".strategy = "web-identity": needs [gitlab].url');
  rejects(
    { gitlab: { url: 'https://g.example' }, roles: [role({ delivery: 'web-identity-file' })] },
    'delivery "web-identity-file" works only with strategy = "web-identity"',
    'strategy is "assume-role"',
  );
  rejects({ gitlab: { url: 'https://g.example' }, job: { delivery: 'web-identity-file' }, roles: [role()] }, 'works only with strategy = "web-identity"');
  assert.doesNotThrow(() =>
    validateConfig({ gitlab: { url: 'https://g.example' }, roles: [role({ strategy: 'web-identity', delivery: 'web-identity-file' })] }, 'x'),
  );
  const ip = role({ strategy: 'instance-profile', instance_profile: 'job-profile' });
  rejects({ roles: [ip] }, '.strategy = "instance-profile"', 'set [driver].slots = 1', '[driver].slots is 4');
  assert.doesNotThrow(() => validateConfig({ driver: { slots: 1 }, roles: [ip] }, 'x'));
});

test('default_role, source_identity and variable names are cross-checked', () => {
  rejects({ job: { default_role: 'nope' }, roles: [role()] }, '[job].default_role = "nope": no [[roles]] entry has that name', 'roles: deploy');
  rejects({ job: { default_role: 'nope' } }, 'roles: none');
  assert.doesNotThrow(() => validateConfig({ job: { default_role: 'deploy' }, roles: [role()] }, 'x'));
  assert.doesNotThrow(
    () => validateConfig({ job: { default_role: 'central' }, policy: { ssm_parameter: '/jobrole/roles' } }, 'x'),
    'the default may live in the central policy',
  );
  rejects({ job: { source_identity: 'user_login' } }, '[job].source_identity = "user_login"', 'verified ID token');
  assert.doesNotThrow(() => validateConfig({ job: { source_identity: 'user_login' }, gitlab: { url: 'https://g.example' } }, 'x'));
  rejects({ job: { role_variable: 'X', id_token_variable: 'X' } }, 'are both "X": they must differ');
});

// Known bug (see report): str() skips its pattern for "", so empty strings pass keys that cannot be empty.
test('empty strings are refused where a name is required', () => {
  rejects({ job: { role_variable: '' } }, '[job].role_variable = ""');
  rejects({ driver: { job_user_prefix: '' } }, '[driver].job_user_prefix = ""');
  rejects({ aws: { region: '' } }, '[aws].region = ""');
  rejects({ roles: [role({ name: '' })] }, '.name = ""');
});
