// Proves the harness calls the driver like gitlab-runner: stage order and names, args, cwd, process group, stdin, temp dirs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runJob } from '../harness/runner.js';
import { shellEscape } from '../harness/shell-escape.js';
import { sandbox, stageNames } from './helpers.js';

describe('stage order', () => {
  test('a plain job: config, prepare, the run stages, cleanup_file_variables, cleanup', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options());
    assert.equal(r.status, 'success');
    assert.deepEqual(stageNames(r.stages), ['config', 'prepare', 'prepare_script', 'get_sources', 'build_script', 'cleanup_file_variables', 'cleanup']);
    assert.ok(r.stages.every((s) => s.exitCode === 0 && s.signal === null));
    assert.equal(r.prepareAttempts, 1);
    assert.match(r.jobLog, /hello from the job/);
    assert.match(r.jobLog, /Running on .* via fake-host\.\.\./);
    assert.match(r.jobLog, /Job succeeded/);
    assert.deepEqual(r.configOutput?.['driver'], { name: 'fake-driver', version: '1.0.0' });
  });

  test('with cache, artifacts and after_script', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ hasCache: true, hasArtifacts: true, steps: { script: ['true'], afterScript: ['echo "after: $CI_JOB_STATUS"'] } }));
    assert.deepEqual(stageNames(r.stages), [
      'config',
      'prepare',
      'prepare_script',
      'get_sources',
      'restore_cache',
      'download_artifacts',
      'build_script',
      'after_script',
      'archive_cache',
      'upload_artifacts_on_success',
      'cleanup_file_variables',
      'cleanup',
    ]);
    assert.match(r.jobLog, /after: success/);
  });

  test('each call: driver args + stage args, cwd the custom-executor dir, own process group, stdin /dev/null', async (t) => {
    const sb = await sandbox(t);
    const r = await runJob(sb.options({ hasCache: true }));
    const calls = await sb.calls();
    assert.deepEqual(
      calls.map((c) => c.runStage ?? c.stage),
      stageNames(r.stages),
    );
    const [dir] = r.tmpDirs;
    assert.ok(dir);
    assert.match(dir, /\/custom-executor\d+$/);
    for (const c of calls) {
      assert.equal(c.cwd, dir);
      assert.equal(c.pgid, c.pid, `${c.stage} leads its own process group`);
      assert.equal(c.stdin, '/dev/null');
      assert.equal(c.responseMode, 0o600);
      if (c.stage === 'run') {
        assert.equal(c.argv.length, 3);
        assert.equal(dirname(dirname(c.argv[1] ?? '')), dir);
        assert.match(c.argv[1] ?? '', /\/script\d+\/script$/);
      } else assert.deepEqual(c.argv, [c.stage]);
    }
    const scripts = calls.filter((c) => c.stage === 'run').map((c) => c.argv[1]);
    assert.equal(new Set(scripts.map((s) => dirname(s ?? ''))).size, scripts.length, 'a new script dir per run call');
    assert.deepEqual(await sb.leftovers(), [], 'custom-executor dir deleted after cleanup');
  });
});

describe('generated script', () => {
  test('runner format, mode 0700, exports quoted job variables, cds into the project dir', async (t) => {
    const sb = await sandbox(t);
    const weird = 'it\'s a "test"\n$HOME ü';
    const r = await runJob(
      sb.options({
        keepTmp: true,
        variables: { WEIRD: weird },
        steps: { script: [`printf '%s' "$WEIRD" > weird.out`, 'pwd > pwd.out'] },
      }),
    );
    const [dir] = r.tmpDirs;
    assert.ok(dir);
    t.after(() => rm(dir, { recursive: true, force: true }));
    assert.equal(r.status, 'success');
    const build = (await sb.calls()).find((c) => c.runStage === 'build_script');
    const scriptPath = build?.argv[1] ?? '';
    assert.equal((await stat(scriptPath)).mode & 0o777, 0o700);
    const text = await readFile(scriptPath, 'utf8');
    const lines = text.split('\n');
    assert.deepEqual(lines.slice(0, 3), ['#!/usr/bin/env bash', "trap 'exit 1' TERM", 'set -o pipefail; set -o errexit; set +o noclobber']);
    assert.match(lines[3] ?? '', /^\(trap 'exit 1' TERM; eval '/);
    assert.match(text, /'\) < \/dev\/null\nexit 0\n$/);
    // The body line is `export WEIRD=$'it\'s a "test"\n$HOME \xc3\xbc'`, then single-quoted for eval.
    const exportLine = `export WEIRD=$'it\\'s a "test"\\n$HOME \\xc3\\xbc'`;
    assert.equal(exportLine, `export WEIRD=${shellEscape(weird)}`);
    assert.ok(text.includes(exportLine.replaceAll("'", "'\\''")));
    const projectDir = join(dir, 'builds', 'group', 'app');
    assert.equal(await readFile(join(projectDir, 'weird.out'), 'utf8'), weird);
    assert.equal((await readFile(join(projectDir, 'pwd.out'), 'utf8')).trim(), projectDir);
    const entries = await readdir(dir);
    assert.ok(entries.includes('response.json'));
    assert.ok(entries.filter((e) => /^script\d+$/.test(e)).length >= 4);
  });
});
