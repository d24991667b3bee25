// Proves cancel/timeout signal the stage's whole process group, and a stage ends only when its pipes close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runJob } from '../harness/runner.js';
import { sandbox, stageNames } from './helpers.js';

test('cancel during build_script: SIGTERM reaches a child of the stage; after_script, *_on_failure, cleanup still run', async (t) => {
  const sb = await sandbox(t);
  const mark = join(sb.root, 'child-saw-term');
  const child = `bash -c 'trap "echo TERM > ${mark}; exit 0" TERM; echo child-ready; while true; do sleep 0.05; done'`;
  const r = await runJob(
    sb.options({
      cancelAfterMs: { stage: 'build_script', afterMs: 600 },
      gracefulKillMs: 5000,
      hasArtifacts: true,
      steps: { script: [child, 'echo not-reached'], afterScript: ['echo "after: $CI_JOB_STATUS"'] },
    }),
  );
  assert.equal(r.status, 'canceled');
  assert.equal((await readFile(mark, 'utf8')).trim(), 'TERM', 'the stage child got SIGTERM');
  const build = r.stages.find((s) => s.name === 'build_script');
  assert.equal(build?.terminated, 'cancel');
  assert.ok((build?.durationMs ?? 0) < 4000, 'ended on SIGTERM, not on SIGKILL');
  assert.deepEqual(stageNames(r.stages).slice(-4), ['after_script', 'upload_artifacts_on_failure', 'cleanup_file_variables', 'cleanup']);
  assert.match(r.jobLog, /child-ready/);
  assert.match(r.jobLog, /after: canceled/);
  assert.doesNotMatch(r.jobLog, /^not-reached$/m);
  assert.deepEqual(await sb.leftovers(), []);
});

test('a stage group that ignores SIGTERM is SIGKILLed after gracefulKillMs', async (t) => {
  const sb = await sandbox(t);
  // The fake driver itself ignores SIGTERM and waits for bash; make bash ignore it too.
  const r = await runJob(
    sb.options({
      cancelAfterMs: { stage: 'build_script', afterMs: 300 },
      gracefulKillMs: 300,
      steps: { script: ["trap '' TERM; while true; do sleep 0.05; done"] },
    }),
  );
  assert.equal(r.status, 'canceled');
  const build = r.stages.find((s) => s.name === 'build_script');
  assert.equal(build?.signal, 'SIGKILL');
  assert.equal(stageNames(r.stages).at(-1), 'cleanup');
});

test('cancel during prepare: no retry, cleanup runs, job canceled', async (t) => {
  const sb = await sandbox(t);
  const r = await runJob(
    sb.options({
      driver: {
        command: 'bash',
        args: [
          '-c',
          'if [ "$1" = prepare ]; then sleep 30; fi; if [ "$1" = config ]; then echo "{\\"builds_dir\\":\\"$TMPDIR/b\\",\\"cache_dir\\":\\"$TMPDIR/c\\"}"; fi',
          'driver',
        ],
      },
      cancelAfterMs: { stage: 'prepare', afterMs: 200 },
      gracefulKillMs: 2000,
    }),
  );
  assert.equal(r.status, 'canceled');
  assert.equal(r.prepareAttempts, 1);
  assert.deepEqual(stageNames(r.stages), ['config', 'prepare', 'cleanup']);
  assert.equal(r.stages[1]?.signal, 'SIGTERM');
});

test('kill -9 of the driver mid-prepare (via onStage) is an unknown failure and is retried', async (t) => {
  const sb = await sandbox(t);
  let killed = false;
  const r = await runJob(
    sb.options({
      driver: {
        command: 'bash',
        args: [
          '-c',
          'if [ "$1" = prepare ]; then sleep 30; fi; if [ "$1" = config ]; then echo "{\\"builds_dir\\":\\"$TMPDIR/b\\",\\"cache_dir\\":\\"$TMPDIR/c\\"}"; fi',
          'driver',
        ],
      },
      steps: { script: ['true'] },
      onStage: (name, phase, { pid }) => {
        if (name === 'prepare' && phase === 'start' && pid !== undefined) {
          // The first attempt is killed; later ones too, so every attempt fails the same way.
          killed = true;
          process.kill(-pid, 'SIGKILL');
        }
      },
    }),
  );
  assert.ok(killed);
  assert.equal(r.status, 'unknown_failure');
  assert.equal(r.prepareAttempts, 3);
  assert.ok(r.stages.filter((s) => s.name === 'prepare').every((s) => s.signal === 'SIGKILL'));
});

test('a background process holding stdout keeps the stage running until it closes the pipe', async (t) => {
  const sb = await sandbox(t);
  const r = await runJob(sb.options({ steps: { script: ['(sleep 1; echo late-output) &', 'echo script-done'] } }));
  assert.equal(r.status, 'success');
  const build = r.stages.find((s) => s.name === 'build_script');
  assert.ok((build?.durationMs ?? 0) >= 900, `build_script lasted ${build?.durationMs}ms`);
  const late = r.jobLog.indexOf('\nlate-output\n');
  assert.ok(late > r.jobLog.indexOf('\nscript-done\n'), 'the late output is part of the stage');
  assert.ok(late < r.jobLog.indexOf('Job succeeded'));
  const names = stageNames(r.stages);
  assert.equal(names[names.indexOf('build_script') + 1], 'cleanup_file_variables');
});

test('stageTimeoutMs: a stage running too long is terminated and the job fails', async (t) => {
  const sb = await sandbox(t);
  const r = await runJob(sb.options({ stageTimeoutMs: 1500, gracefulKillMs: 500, steps: { script: ['sleep 30'] } }));
  assert.equal(r.status, 'failed');
  assert.equal(r.stages.find((s) => s.name === 'build_script')?.terminated, 'timeout');
  assert.equal(stageNames(r.stages).at(-1), 'cleanup');
});
