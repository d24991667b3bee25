// Proves the runner's exit-code rules: build failure, system failure and retries, unknown failure, cleanup never counts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runJob } from '../harness/runner.js';
import { sandbox, stageNames } from './helpers.js';

describe('run stages', () => {
  test('script exit 3: failed, buildExitCode 3, after_script / *_on_failure / cleanup_file_variables still run', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(
      sb.options({
        hasCache: true,
        hasArtifacts: true,
        steps: { script: ['echo before', 'exit 3', 'echo never'], afterScript: ['echo "after: $CI_JOB_STATUS"'] },
      }),
    );
    assert.equal(r.status, 'failed');
    assert.equal(r.buildExitCode, 3);
    assert.deepEqual(stageNames(r.stages).slice(6), [
      'build_script',
      'after_script',
      'archive_cache_on_failure',
      'upload_artifacts_on_failure',
      'cleanup_file_variables',
      'cleanup',
    ]);
    assert.equal(r.stages.find((s) => s.name === 'build_script')?.exitCode, 1);
    assert.match(r.jobLog, /before/);
    assert.doesNotMatch(r.jobLog, /^never$/m);
    assert.match(r.jobLog, /after: failed/);
    assert.match(r.jobLog, /ERROR: Job failed: exit code 3/);
  });

  test('run exiting with an unknown code is an unknown failure', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_RUN_EXIT: '7:build_script' }, steps: { script: ['true'], afterScript: ['echo after'] } }));
    assert.equal(r.status, 'unknown_failure');
    assert.equal(r.buildExitCode, undefined);
    assert.ok(stageNames(r.stages).includes('after_script'));
  });

  test('get_sources system failure is retried per GET_SOURCES_ATTEMPTS, with clear_worktree between', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_RUN_EXIT: '2:get_sources' }, variables: { GET_SOURCES_ATTEMPTS: '2' } }));
    assert.equal(r.status, 'system_failure');
    assert.deepEqual(stageNames(r.stages), [
      'config',
      'prepare',
      'prepare_script',
      'get_sources',
      'clear_worktree',
      'get_sources',
      'cleanup_file_variables',
      'cleanup',
    ]);
  });

  test('a failing cleanup never changes the status; its output goes to the runner log only', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_CLEANUP_EXIT: '2' } }));
    assert.equal(r.status, 'success');
    assert.match(r.runnerLog, /fake-driver: cleanup failed/);
    assert.match(r.runnerLog, /Cleanup script failed/);
    assert.doesNotMatch(r.jobLog, /cleanup failed/);
  });
});

describe('prepare attempts', () => {
  test('system failure in prepare: 3 attempts, cleanup after each, a new temp dir each time, all removed', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_PREPARE_EXIT: '2' } }));
    assert.equal(r.status, 'system_failure');
    assert.equal(r.prepareAttempts, 3);
    assert.deepEqual(stageNames(r.stages), ['config', 'prepare', 'cleanup', 'config', 'prepare', 'cleanup', 'config', 'prepare', 'cleanup']);
    assert.equal(new Set(r.tmpDirs).size, 3);
    assert.deepEqual(await sb.leftovers(), []);
    const cleanups = (await sb.calls()).filter((c) => c.stage === 'cleanup');
    assert.deepEqual(
      cleanups.map((c) => c.cwd),
      r.tmpDirs,
      'each cleanup runs in its own attempt dir',
    );
    assert.equal(cleanups[0]?.env['FAKE_DRIVER_STATE'], `${r.tmpDirs[0]}/state`, 'cleanup gets job_env');
  });

  test('prepare exits 2 twice, then succeeds on the third attempt', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_PREPARE_SYSTEM_FAILURES: '2' } }));
    assert.equal(r.status, 'success');
    assert.equal(r.prepareAttempts, 3);
    assert.equal(stageNames(r.stages).filter((n) => n === 'cleanup').length, 3);
    assert.match(r.jobLog, /Will be retried in/);
  });

  test('build failure in prepare is not retried', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_PREPARE_EXIT: '1' } }));
    assert.equal(r.status, 'failed');
    assert.equal(r.prepareAttempts, 1);
    assert.deepEqual(stageNames(r.stages), ['config', 'prepare', 'cleanup']);
    assert.match(r.jobLog, /prepare failing with 1/);
  });

  test('config printing anything but JSON on stdout is a system failure, retried; prepare never runs', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_CONFIG_LOG_STDOUT: '1' } }));
    assert.equal(r.status, 'system_failure');
    assert.equal(r.prepareAttempts, 3);
    assert.deepEqual(stageNames(r.stages), ['config', 'cleanup', 'config', 'cleanup', 'config', 'cleanup']);
    assert.equal(r.configOutput, undefined);
    assert.doesNotMatch(r.jobLog, /choosing a slot/, 'config stdout is never logged');
    assert.match(r.jobLog, /fake-driver: config/, 'config stderr is in the job log');
  });

  test('config exiting 1 is a build failure: not retried', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ fakeEnv: { FAKE_CONFIG_EXIT: '1' } }));
    assert.equal(r.status, 'failed');
    assert.deepEqual(stageNames(r.stages), ['config', 'cleanup']);
  });
});
