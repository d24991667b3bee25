// evaluatePolicy / judgeRole / denialMessage: decisions from trusted facts only, default deny, and refusals a user can act on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import type { JobroleConfig } from '../../src/config/types.js';
import { denialMessage, evaluatePolicy, judgeRole, type Decision } from '../../src/policy/evaluate.js';
import { jobContextFromResponse } from '../../src/runner/job-context.js';
import { jobContext } from './context-fixture.js';

const CONFIG = `
[gitlab]
url = "https://gitlab.example.com"
[[roles]]
name = "open"
arn = "arn:aws:iam::111122223333:role/open"
[[roles]]
name = "app"
arn = "arn:aws:iam::111122223333:role/app"
  [roles.allow]
  projects = ["group/app", "group/tools/*"]
  refs = ["main", "release/*"]
  ref_types = ["branch"]
[[roles]]
name = "prod"
arn = "arn:aws:iam::111122223333:role/prod"
  [roles.allow]
  projects = ["group/app"]
  protected = true
  environments = ["production", "prod-*"]
  environment_protected = true
  deployment_tiers = ["production"]
  pipeline_sources = ["push", "web"]
  user_logins = ["alice", "bot-*"]
`;
const config = parseConfigText(CONFIG, 'test.toml');
const withDefault = (name: string): JobroleConfig => ({ ...config, job: { ...config.job, default_role: name } });
const role = (name: string) => {
  const r = config.roles.find((x) => x.name === name);
  assert.ok(r);
  return r;
};
const PROD_CLAIMS = {
  ref_protected: true,
  environment: 'production',
  environment_protected: true,
  deployment_tier: 'production',
  pipeline_source: 'push',
  user_login: 'alice',
};

function denied(d: Decision): Extract<Decision, { kind: 'deny' }> {
  assert.equal(d.kind, 'deny', `expected deny, got ${d.kind}`);
  return d;
}
const failedConditions = (d: Decision) => (d.kind === 'none' ? [] : d.verdicts.filter((v) => !v.ok).map((v) => v.condition));

test('no request and no default role: no credentials at all', () => {
  assert.deepEqual(evaluatePolicy(jobContext(), undefined, config), { kind: 'none' });
});

test('the default role is judged like a requested one and marked viaDefault', () => {
  const d = evaluatePolicy(jobContext(), undefined, withDefault('app'));
  assert.equal(d.kind, 'allow');
  assert.ok(d.kind === 'allow' && d.viaDefault && d.requested === 'app' && d.role.arn === 'arn:aws:iam::111122223333:role/app');
  const refusedDefault = denied(evaluatePolicy(jobContext({ ref: 'feature/x' }), undefined, withDefault('app')));
  assert.ok(refusedDefault.viaDefault);
  assert.ok(denialMessage(refusedDefault, 'JOBROLE_ROLE').startsWith('the default role "app" is refused for project "group/app", branch "feature/x":'));
});

test('an unknown role is denied, naming it', () => {
  const d = denied(evaluatePolicy(jobContext(), 'admin', config));
  assert.deepEqual(d.verdicts, [{ condition: 'role', ok: false, detail: 'no role named "admin" is configured on this runner' }]);
  assert.equal(d.viaDefault, false);
});

test('a role without conditions allows any job', () => {
  const d = evaluatePolicy(jobContext({ projectPath: 'someone/else' }), 'open', config);
  assert.equal(d.kind, 'allow');
  assert.deepEqual(d.kind === 'allow' && d.verdicts, []);
});

test('response-file conditions: project, ref and ref type must all hold', () => {
  const ok = evaluatePolicy(jobContext({ projectPath: 'group/tools/cli', ref: 'release/1.4' }), 'app', config);
  assert.equal(ok.kind, 'allow');
  assert.deepEqual(ok.kind === 'allow' && ok.verdicts.map((v) => [v.condition, v.ok]), [
    ['projects', true],
    ['refs', true],
    ['ref_types', true],
  ]);

  assert.deepEqual(failedConditions(evaluatePolicy(jobContext({ projectPath: 'group/tools/sub/cli' }), 'app', config)), ['projects']);
  assert.deepEqual(failedConditions(evaluatePolicy(jobContext({ projectPath: 'group/application' }), 'app', config)), ['projects']);
  assert.deepEqual(failedConditions(evaluatePolicy(jobContext({ ref: 'mainline' }), 'app', config)), ['refs']);
  assert.deepEqual(failedConditions(evaluatePolicy(jobContext({ refType: 'tag' }), 'app', config)), ['ref_types']);
  assert.deepEqual(failedConditions(evaluatePolicy(jobContext({ projectPath: 'x/y', ref: 'dev', refType: 'tag' }), 'app', config)), [
    'projects',
    'refs',
    'ref_types',
  ]);
});

test('denialMessage names the role, the variable, the facts judged and every failed condition', () => {
  const d = denied(evaluatePolicy(jobContext({ projectPath: 'other/app', ref: 'dev' }), 'app', config));
  const m = denialMessage(d, 'JOBROLE_ROLE');
  const lines = m.split('\n');
  assert.equal(lines[0], 'role "app" (asked for in JOBROLE_ROLE) is refused for project "other/app", branch "dev":');
  assert.equal(lines[1], '  - projects: project "other/app" does not match "group/app", "group/tools/*"');
  assert.equal(lines[2], '  - refs: ref "dev" does not match "main", "release/*"');
  assert.equal(lines.length, 4, 'passing conditions are not listed');
  assert.match(lines[3] ?? '', /never from job variables/);
});

test('a CI_PROJECT_PATH job variable never influences the decision', () => {
  // The response file's variables list and CUSTOM_ENV_* are job-author input: only job_info/git_info count.
  const response = {
    id: 4242,
    job_info: { project_id: 9, project_full_path: 'attacker/fork', pipeline_id: 1 },
    git_info: { ref: 'main', ref_type: 'branch', repo_url: 'https://gitlab.example.com/attacker/fork.git' },
    variables: [
      { key: 'CI_PROJECT_PATH', value: 'group/app' },
      { key: 'CI_COMMIT_REF_PROTECTED', value: 'true' },
    ],
  };
  const ctx = jobContextFromResponse(response, 'response.json');
  assert.equal(ctx.projectPath.value, 'attacker/fork');
  const saved = { path: process.env.CUSTOM_ENV_CI_PROJECT_PATH, prot: process.env.CUSTOM_ENV_CI_COMMIT_REF_PROTECTED };
  process.env.CUSTOM_ENV_CI_PROJECT_PATH = 'group/app';
  process.env.CUSTOM_ENV_CI_COMMIT_REF_PROTECTED = 'true';
  try {
    const d = denied(evaluatePolicy(ctx, 'app', config));
    assert.deepEqual(failedConditions(d), ['projects']);
    assert.equal(d.judged.project, 'attacker/fork');
    assert.deepEqual(failedConditions(evaluatePolicy(ctx, 'prod', config)).sort(), [
      'deployment_tiers',
      'environment_protected',
      'environments',
      'pipeline_sources',
      'projects',
      'protected',
      'user_logins',
    ]);
  } finally {
    if (saved.path === undefined) delete process.env.CUSTOM_ENV_CI_PROJECT_PATH;
    else process.env.CUSTOM_ENV_CI_PROJECT_PATH = saved.path;
    if (saved.prot === undefined) delete process.env.CUSTOM_ENV_CI_COMMIT_REF_PROTECTED;
    else process.env.CUSTOM_ENV_CI_COMMIT_REF_PROTECTED = saved.prot;
  }
});

test('ID-token conditions without a token: denied, each saying the token is needed', () => {
  const d = denied(evaluatePolicy(jobContext(), 'prod', config));
  const tokenVerdicts = d.verdicts.filter((v) => v.condition !== 'projects');
  assert.equal(tokenVerdicts.length, 6);
  for (const v of tokenVerdicts) {
    assert.equal(v.ok, false);
    // protected can also come from git_info.protected (gitlab-runner >= 18.3), and says so.
    assert.match(
      v.detail,
      v.condition === 'protected' ? /needs an ID token or gitlab-runner >= 18\.3.*id_tokens:/ : /needs a verified GitLab ID token.*id_tokens:/,
    );
  }
});

test('ID-token conditions with a verified token that satisfies them: allowed', () => {
  const d = evaluatePolicy(jobContext({ claims: PROD_CLAIMS }), 'prod', config);
  assert.equal(d.kind, 'allow', d.kind === 'deny' ? denialMessage(d, 'JOBROLE_ROLE') : '');
  assert.equal(d.kind === 'allow' && d.verdicts.length, 7);
  assert.equal(
    evaluatePolicy(jobContext({ claims: { ...PROD_CLAIMS, environment: 'prod-eu', user_login: 'bot-deploy', pipeline_source: 'web' } }), 'prod', config).kind,
    'allow',
  );
});

test('each ID-token condition fails on its own when its claim is wrong or missing', () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ ref_protected: false }, 'protected', /ref_protected is false in the ID token, rule wants true/],
    [{ ref_protected: undefined }, 'protected', /ID token has no ref_protected claim/],
    [{ environment: 'staging' }, 'environments', /environment "staging" does not match "production", "prod-\*"/],
    [{ environment: undefined }, 'environments', /environment \(none\) does not match/],
    [{ environment_protected: false }, 'environment_protected', /environment_protected is false, rule wants true/],
    [{ environment_protected: undefined }, 'environment_protected', /environment_protected is false/],
    [{ deployment_tier: 'staging' }, 'deployment_tiers', /deployment_tier "staging" is not one of "production"/],
    [{ deployment_tier: undefined }, 'deployment_tiers', /deployment_tier \(none\)/],
    [{ pipeline_source: 'merge_request_event' }, 'pipeline_sources', /pipeline_source "merge_request_event" does not match "push", "web"/],
    [{ pipeline_source: undefined }, 'pipeline_sources', /pipeline_source \(none\)/],
    [{ user_login: 'mallory' }, 'user_logins', /user_login "mallory" does not match "alice", "bot-\*"/],
    [{ user_login: undefined }, 'user_logins', /user_login \(none\)/],
  ];
  for (const [override, condition, detail] of cases) {
    const claims: Record<string, unknown> = { ...PROD_CLAIMS, ...override };
    for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
    const d = denied(evaluatePolicy(jobContext({ claims }), 'prod', config));
    const failed = d.verdicts.filter((v) => !v.ok);
    assert.equal(failed.length, 1, `${JSON.stringify(override)}: ${JSON.stringify(failed)}`);
    assert.equal(failed[0]?.condition, condition);
    assert.match(failed[0]?.detail ?? '', detail);
  }
});

test('a token from another job, project or ref is refused even for a role without conditions', () => {
  const otherJob = denied(evaluatePolicy(jobContext({ claims: { job_id: '1' } }), 'open', config));
  assert.deepEqual(
    otherJob.verdicts.map((v) => v.condition),
    ['id-token'],
  );
  assert.match(otherJob.verdicts[0]?.detail ?? '', /belongs to job 1, not to this job 4242/);
  const otherProject = denied(evaluatePolicy(jobContext({ claims: { project_path: 'group/other' } }), 'open', config));
  assert.match(otherProject.verdicts[0]?.detail ?? '', /ID token is for project "group\/other"/);
  const otherRef = denied(evaluatePolicy(jobContext({ claims: { ref: 'dev' } }), 'open', config));
  assert.match(otherRef.verdicts[0]?.detail ?? '', /ID token is for ref "dev" but this job runs on ref "main"/);
});

test('fork merge requests: the fork running the job must match too', () => {
  // Token for upstream group/app, but job_project_path is the fork that runs the job (and the response file agrees).
  const fork = jobContext({ projectPath: 'mallory/app', claims: { ...PROD_CLAIMS, project_path: 'group/app', job_project_path: 'mallory/app' } });
  const d = denied(evaluatePolicy(fork, 'prod', config));
  const projects = d.verdicts.find((v) => v.condition === 'projects');
  assert.equal(projects?.ok, false);
  assert.match(projects?.detail ?? '', /ID token: project_path "group\/app", job_project_path "mallory\/app"/);
  // The response file claiming the upstream project does not help: token and response file must agree.
  const lying = jobContext({ projectPath: 'group/app', claims: { ...PROD_CLAIMS, project_path: 'group/app', job_project_path: 'mallory/app' } });
  const d2 = denied(evaluatePolicy(lying, 'prod', config));
  assert.ok(d2.verdicts.some((v) => v.condition === 'id-token' && /job_project_path/.test(v.detail)));
});

test('judgeRole lists one verdict per configured condition, in order', () => {
  assert.deepEqual(
    judgeRole(role('app'), jobContext()).map((v) => v.condition),
    ['projects', 'refs', 'ref_types'],
  );
  assert.deepEqual(judgeRole(role('open'), jobContext()), []);
});
