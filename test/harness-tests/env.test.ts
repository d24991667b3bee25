// Proves the environment each driver call sees is layered as the runner does: runner env < runner vars < job_env < CUSTOM_ENV_*.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runJob } from '../harness/runner.js';
import { sandbox } from './helpers.js';

test('runner env, TMPDIR & co, job_env unprefixed (not for config), CUSTOM_ENV_ for every job variable', async (t) => {
  const sb = await sandbox(t);
  const r = await runJob(
    sb.options({
      fakeEnv: {
        AWS_SECRET_ACCESS_KEY: 'runner-secret',
        TMPDIR: '/runner/tmp',
        BUILD_FAILURE_EXIT_CODE: '99',
        SHARED: 'from-runner',
        FAKE_CONFIG_JOB_ENV: JSON.stringify({ SHARED: 'from-job-env', CUSTOM_ENV_FOO: 'from-job-env' }),
      },
      variables: { FOO: 'bar', CI_PROJECT_PATH: 'evil/other' },
    }),
  );
  assert.equal(r.status, 'success');
  const calls = await sb.calls();
  const [dir] = r.tmpDirs;
  for (const c of calls) {
    const e = c.env;
    assert.equal(e['AWS_SECRET_ACCESS_KEY'], 'runner-secret', 'the runner env reaches the driver');
    assert.equal(e['TMPDIR'], dir);
    assert.equal(e['BUILD_FAILURE_EXIT_CODE'], '1');
    assert.equal(e['SYSTEM_FAILURE_EXIT_CODE'], '2');
    assert.equal(e['BUILD_EXIT_CODE_FILE'], `${dir}/build_exit_code`);
    assert.equal(e['JOB_RESPONSE_FILE'], `${dir}/response.json`);
    assert.equal(e['CUSTOM_ENV_FOO'], 'bar', 'CUSTOM_ENV_ is applied after job_env');
    assert.equal(e['CUSTOM_ENV_CI_PROJECT_PATH'], 'evil/other', 'a user variable beats the predefined one');
    assert.equal(e['CUSTOM_ENV_CI_JOB_ID'], '4242');
    assert.equal(e['CUSTOM_ENV_CI_COMMIT_REF_NAME'], 'main');
    assert.equal(e['CUSTOM_ENV_GITLAB_USER_LOGIN'], 'alice');
    assert.equal(e['FOO'], undefined, 'job variables are only ever prefixed');
    if (c.stage === 'config') {
      assert.equal(e['SHARED'], 'from-runner', 'config does not get job_env');
      assert.equal(e['FAKE_DRIVER_STATE'], undefined);
      assert.equal(e['CUSTOM_ENV_CI_PROJECT_DIR'], undefined, 'no builds dir before config');
    } else {
      assert.equal(e['SHARED'], 'from-job-env', `${c.stage}: job_env beats the runner env`);
      assert.equal(e['FAKE_DRIVER_STATE'], `${dir}/state`);
      assert.equal(e['CUSTOM_ENV_CI_BUILDS_DIR'], `${dir}/builds`);
      assert.equal(e['CUSTOM_ENV_CI_PROJECT_DIR'], `${dir}/builds/group/app`, 'project dir from the repo URL, not CI_PROJECT_PATH');
    }
  }
  const stages = calls.map((c) => c.stage);
  assert.deepEqual([...new Set(stages)], ['config', 'prepare', 'run', 'cleanup']);
});

test('a custom response object: its variables and facts are used, user variables appended', async (t) => {
  const sb = await sandbox(t);
  const response = {
    id: 1,
    job_info: { project_full_path: 'x/y' },
    git_info: { repo_url: 'https://gitlab.example.com/x/y.git', sha: 'abc', ref: 'dev' },
    variables: [
      { key: 'CI_JOB_ID', value: '1', public: true },
      { key: 'SECRET_FILE', value: 'file-content', file: true },
    ],
  };
  const r = await runJob(
    sb.options({ response, variables: { EXTRA: 'e' }, steps: { script: ['test "$(cat "$SECRET_FILE")" = file-content', 'test "$EXTRA" = e'] } }),
  );
  assert.equal(r.status, 'success', r.jobLog);
  const prepare = (await sb.calls()).find((c) => c.stage === 'prepare');
  assert.equal(prepare?.env['CUSTOM_ENV_SECRET_FILE'], 'file-content', 'file variables reach the driver as their content');
  assert.equal(prepare?.env['CUSTOM_ENV_EXTRA'], 'e');
  assert.match(prepare?.env['CUSTOM_ENV_CI_PROJECT_DIR'] ?? '', /\/builds\/x\/y$/);
});
