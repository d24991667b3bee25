// Job lifecycle end to end: exit codes, cancellation, cleanup that always scrubs, gc after a killed runner.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, issuedSecrets, filesContaining, CLI, type World, DEPLOYER_ROLE } from './world.js';

describe('job lifecycle', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ roles: DEPLOYER_ROLE });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn, world.emu.host.arn] } });
  });
  after(() => world.close());

  const jobsLeft = async () => (await readdir(join(world.stateDir, 'jobs')).catch(() => [])).length;
  const response = (jobId: number) => buildJobResponse({ jobId, projectId: 5, projectPath: 'group/app', ref: 'main' });

  test('a script exiting 3 is a build failure with exit code 3 recorded, and is still scrubbed', async () => {
    const r = await world.job({ response: response(601), variables: { JOBROLE_ROLE: 'deployer' }, steps: { script: ['echo before', 'exit 3'] } });
    assert.equal(r.status, 'failed');
    assert.equal(r.buildExitCode, 3);
    const build = r.stages.find((s) => s.name === 'build_script');
    assert.equal(build?.exitCode, 1, 'run exits BUILD_FAILURE_EXIT_CODE, never the script status itself');
    assert.ok(
      r.stages.some((s) => s.name === 'cleanup_file_variables'),
      'the runner goes on with the remaining stages',
    );
    assert.equal(await jobsLeft(), 0);
  });

  test('a script exiting 2 is not mistaken for a system failure', async () => {
    const r = await world.job({ response: response(602), steps: { script: ['exit 2'] } });
    assert.equal(r.status, 'failed');
    assert.equal(r.buildExitCode, 2);
    assert.equal(r.prepareAttempts, 1);
  });

  test('a cancelled job: the script gets SIGTERM, after_script runs, cleanup scrubs and the endpoint is closed', async () => {
    const marker = join(world.dir, 'term-marker');
    const r = await world.job({
      response: response(603),
      variables: { JOBROLE_ROLE: 'deployer' },
      steps: {
        script: [
          `trap 'echo got-SIGTERM > ${marker}; exit 1' TERM`,
          'echo $AWS_CONTAINER_CREDENTIALS_FULL_URI > ' + join(world.dir, 'endpoint-url'),
          'sleep 30 & wait',
        ],
        afterScript: ['echo after-script-ran'],
      },
      cancelAfterMs: { stage: 'build_script', afterMs: 1500 },
    });
    assert.equal(r.status, 'canceled');
    assert.ok(existsSync(marker), 'the job script received SIGTERM');
    assert.match(r.jobLog, /after-script-ran/);
    assert.equal(await jobsLeft(), 0, 'cleanup removed the job state');
    const { readFile } = await import('node:fs/promises');
    const url = (await readFile(join(world.dir, 'endpoint-url'), 'utf8')).trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/creds$/);
    await assert.rejects(fetch(url), 'the credentials endpoint is gone after cleanup');
    assert.deepEqual(await filesContaining(world, issuedSecrets(world.emu)), []);
  });

  test("the runner's own environment never reaches the job", async () => {
    const r = await world.job({
      response: response(604),
      variables: { JOBROLE_ROLE: 'deployer' },
      runnerEnv: { AWS_ACCESS_KEY_ID: world.emu.host.accessKeyId, AWS_SECRET_ACCESS_KEY: world.emu.host.secretAccessKey, AWS_PROFILE_RUNNER: 'x' },
      steps: { script: ['env | sort > "$CI_PROJECT_DIR/../env-dump"; cat "$CI_PROJECT_DIR/../env-dump"'] },
    });
    assert.equal(r.status, 'success', r.jobLog);
    for (const secret of [
      world.emu.host.secretAccessKey,
      world.emu.host.accessKeyId,
      'proxy-password-secret',
      'RUNNERSECRETTOKEN',
      'runner-private-secret-value',
      'JOB_RESPONSE_FILE',
    ]) {
      assert.ok(!r.jobLog.includes(secret), `${secret} reached the job`);
    }
    assert.match(r.jobLog, /^AWS_CONTAINER_CREDENTIALS_FULL_URI=/m);
  });

  test('cleanup with no state, and twice in a row, succeeds and does nothing', async () => {
    const env = { ...world.runnerEnv, BUILD_FAILURE_EXIT_CODE: '1', SYSTEM_FAILURE_EXIT_CODE: '2' };
    assert.equal(world.cli(['cleanup'], env).status, 0);
    const key = `${world.stateDir}/jobs/999-0123456789ab`;
    assert.equal(world.cli(['cleanup'], { ...env, JOBROLE_JOB_DIR: key }).status, 0);
    assert.equal(world.cli(['cleanup'], { ...env, JOBROLE_JOB_DIR: key }).status, 0);
  });

  test("a failed prepare undoes itself and the runner's cleanup after it succeeds", async () => {
    world.emu.faults.deny('AssumeRole', 1);
    const r = await world.job({ response: response(605), variables: { JOBROLE_ROLE: 'deployer' }, steps: { script: ['true'] } });
    assert.equal(r.status, 'success', 'the runner retried prepare after the system failure');
    assert.equal(r.prepareAttempts, 2);
    assert.match(r.jobLog, /STS refused AssumeRole for role "deployer"/);
    assert.ok(r.stages.filter((s) => s.name === 'cleanup').every((s) => s.exitCode === 0));
    assert.equal(await jobsLeft(), 0);
  });

  test('an endpoint whose job state is gone ends itself (a prepare killed before it recorded the endpoint)', async () => {
    let pid = 0;
    let url = '';
    const r = await world.job({
      response: response(607),
      variables: { JOBROLE_ROLE: 'deployer' },
      steps: { script: ['echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI"', 'sleep 1'] },
      onStage: async (name, phase) => {
        if (name !== 'build_script' || phase !== 'start') return;
        const [key] = await readdir(join(world.stateDir, 'jobs'));
        const { readFile, rm } = await import('node:fs/promises');
        const state = JSON.parse(await readFile(join(world.stateDir, 'jobs', key as string, 'state.json'), 'utf8')) as {
          broker: { pid: number; port: number };
        };
        pid = state.broker.pid;
        url = `http://127.0.0.1:${state.broker.port}/creds`;
        // The record of the endpoint is lost, as if prepare had died right after starting it.
        await rm(join(world.stateDir, 'jobs', key as string), { recursive: true, force: true });
      },
    });
    assert.ok(pid > 0, r.jobLog);
    const gone = async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    for (let i = 0; i < 40 && !(await gone()); i++) await new Promise((res) => setTimeout(res, 250));
    assert.ok(await gone(), 'the orphaned endpoint ended itself');
    await assert.rejects(fetch(url));
  });

  test('gc scrubs a job whose runner was killed before cleanup', async () => {
    // A stand-in runner: runs config and prepare, then dies without cleanup.
    const tmp = join(world.dir, 'custom-executor-killed');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'response.json'), JSON.stringify(response(606)), { mode: 0o600 });
    const script = `
      const { execFileSync } = require('node:child_process');
      const env = { ...process.env, BUILD_FAILURE_EXIT_CODE: '1', SYSTEM_FAILURE_EXIT_CODE: '2', JOB_RESPONSE_FILE: ${JSON.stringify(join(tmp, 'response.json'))}, CUSTOM_ENV_JOBROLE_ROLE: 'deployer' };
      const out = JSON.parse(execFileSync(process.execPath, [${JSON.stringify(CLI)}, '--config', ${JSON.stringify(world.configPath)}, 'config'], { env, cwd: ${JSON.stringify(tmp)} }));
      Object.assign(env, out.job_env);
      execFileSync(process.execPath, [${JSON.stringify(CLI)}, '--config', ${JSON.stringify(world.configPath)}, 'prepare'], { env, cwd: ${JSON.stringify(tmp)}, stdio: 'ignore' });
      process.stdout.write(out.job_env.JOBROLE_JOB_DIR);
    `;
    const runner = spawn(process.execPath, ['-e', script], { env: world.runnerEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let jobDir = '';
    runner.stdout.on('data', (d: Buffer) => {
      jobDir += d.toString();
    });
    await new Promise((r) => runner.once('exit', r));
    assert.ok(existsSync(join(jobDir, 'state.json')), 'the dead runner left a prepared job behind');
    const gc = await world.cliAsync(['gc']);
    assert.equal(gc.status, 0, gc.stderr);
    assert.match(gc.stdout, /scrubbed job 606 .*the runner process \d+ that started it is gone/);
    assert.ok(!existsSync(jobDir));
    assert.deepEqual(await filesContaining(world, issuedSecrets(world.emu)), []);
  });
});
