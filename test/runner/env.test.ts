// jobStateDirFromEnv / baseJobEnv: the state path handed between stages is checked, and jobs never inherit the runner's secrets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOB_STATE_VAR, baseJobEnv, jobStateDirFromEnv } from '../../src/runner/env.js';
import { SystemFailure } from '../../src/core/exit-codes.js';

const GOOD = '/var/lib/jobrole/jobs/4242-0123456789ab';

test('jobStateDirFromEnv: unset means none; a jobrole job dir is accepted', () => {
  assert.equal(JOB_STATE_VAR, 'JOBROLE_JOB_DIR');
  assert.equal(jobStateDirFromEnv({}), undefined);
  assert.equal(jobStateDirFromEnv({ JOBROLE_JOB_DIR: '' }), undefined);
  assert.equal(jobStateDirFromEnv({ JOBROLE_JOB_DIR: GOOD }), GOOD);
  assert.equal(jobStateDirFromEnv({ JOBROLE_JOB_DIR: GOOD }, '/var/lib/jobrole/jobs'), GOOD);
  assert.equal(jobStateDirFromEnv({ JOBROLE_JOB_DIR: GOOD }, '/var/lib/jobrole/jobs/'), GOOD);
});

test('jobStateDirFromEnv: anything else is a system failure', () => {
  for (const bad of [
    'relative/jobs/4242-0123456789ab',
    '/var/lib/jobrole/jobs/4242-0123456789AB',
    '/var/lib/jobrole/jobs/4242-0123456789ab/',
    '/var/lib/jobrole/jobs/4242',
    '/etc',
    '/var/lib/jobrole/../../etc/jobs/4242-0123456789ab',
    '/jobs/x-0123456789ab',
  ]) {
    assert.throws(
      () => jobStateDirFromEnv({ JOBROLE_JOB_DIR: bad }),
      (e: unknown) => e instanceof SystemFailure && e.message.includes('is not a jobrole job directory'),
      bad,
    );
  }
  assert.throws(() => jobStateDirFromEnv({ JOBROLE_JOB_DIR: `/x/jobs/1-${'a'.repeat(12)}${'\n'}` }), SystemFailure);
});

test('jobStateDirFromEnv: a dir outside the configured state dir is refused', () => {
  assert.throws(
    () => jobStateDirFromEnv({ JOBROLE_JOB_DIR: '/tmp/evil/jobs/4242-0123456789ab' }, '/var/lib/jobrole/jobs'),
    (e: unknown) => {
      assert.ok(e instanceof SystemFailure);
      assert.ok(e.message.includes('points outside [driver].state_dir (/var/lib/jobrole/jobs)'));
      return true;
    },
  );
  assert.throws(() => jobStateDirFromEnv({ JOBROLE_JOB_DIR: '/var/lib/jobrole/./jobs/4242-0123456789ab' }, '/var/lib/jobrole/jobs'), SystemFailure);
});

test('baseJobEnv keeps PATH and locale only: no AWS_*, proxies, tokens or HOME from the runner', () => {
  const runner = {
    PATH: '/opt/bin:/usr/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    TZ: 'UTC',
    HOME: '/root',
    AWS_ACCESS_KEY_ID: 'AKIA',
    AWS_SECRET_ACCESS_KEY: 's',
    AWS_SESSION_TOKEN: 't',
    AWS_PROFILE: 'p',
    HTTPS_PROXY: 'http://u:p@proxy',
    CI_SERVER_TOKEN: 'x',
    JOB_RESPONSE_FILE: '/tmp/r.json',
    CUSTOM_ENV_X: 'y',
  };
  assert.deepEqual(baseJobEnv(runner), { PATH: '/opt/bin:/usr/bin', SHELL: '/bin/bash', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC' });
});

test('baseJobEnv gives a safe PATH when the runner has none', () => {
  assert.deepEqual(baseJobEnv({}), { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', SHELL: '/bin/bash' });
  assert.equal(baseJobEnv({ PATH: '' }).PATH, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
});
