// Helpers for the instance-profile end-to-end tests: a one-slot world with a job profile, and "is the host back?" checks.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildJobResponse } from '../harness/runner.js';
import type { JobResult, StageRecord } from '../harness/types.js';
import { DEBIAN_AWS, DEBIAN_PYTHON, startWorld, type World, type WorldOptions } from './world.js';

const ACCOUNT = '111122223333';
const JOB_ROLE = 'legacy-deploy';
export const JOB_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/ci/${JOB_ROLE}`;
export const JOB_PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/ci-legacy-deploy`;
/** What STS answers for the credentials IMDS serves the job: arn:aws:sts::ACCT:assumed-role/legacy-deploy/<instance id>. */
export const JOB_ASSUMED = new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/${JOB_ROLE}/i-[0-9a-f]+$`, 'm');

export interface IpWorldOptions extends Omit<WorldOptions, 'roles' | 'slots' | 'extra'> {
  /** IMDS propagation delay of the emulator (ms). */
  propagationMs?: number;
  /** [instance_profile].propagation_timeout, seconds (the schema's minimum is 5). */
  timeoutSeconds?: number;
  pollMs?: number;
  /** [instance_profile].rotation_poll_interval, seconds: how often the endpoint asks IMDS for a rotated key. */
  rotationPollSeconds?: number;
}

/** A world with slots = 1, one instance-profile role, and the job's profile known to the emulator's EC2. */
export async function startIpWorld(opts: IpWorldOptions = {}): Promise<World> {
  const { propagationMs = 300, timeoutSeconds = 10, pollMs = 100, rotationPollSeconds = 60, emulator = {}, ...rest } = opts;
  const world = await startWorld({
    ...rest,
    slots: 1,
    emulator: { imdsPropagationMs: propagationMs, associationDelayMs: 100, ...emulator },
    extra: `[instance_profile]\npropagation_timeout = "${timeoutSeconds}s"\npoll_interval_ms = ${pollMs}\nrotation_poll_interval = "${rotationPollSeconds}s"\n`,
    roles: `
[[roles]]
name = "${JOB_ROLE}"
arn = "${JOB_ROLE_ARN}"
strategy = "instance-profile"
instance_profile = "${JOB_PROFILE_ARN}"
  [roles.allow]
  projects = ["group/app"]
`,
  });
  world.emu.addInstanceProfile(JOB_PROFILE_ARN, JOB_ROLE_ARN);
  return world;
}

let nextJobId = 7100;

/** Runs one job that asks for the instance-profile role; `script` defaults to the awscli + boto3 identity check. */
export function ipJob(world: World, o: Partial<Parameters<World['job']>[0]> & { script?: string[]; role?: string } = {}): Promise<JobResult> {
  const { script, role = JOB_ROLE, ...rest } = o;
  const jobId = nextJobId++;
  return world.job({
    response: buildJobResponse({ jobId, projectPath: 'group/app', ref: 'main', timeout: 600 }),
    variables: { JOBROLE_ROLE: role, EMU: world.emu.endpoint },
    steps: { script: script ?? identityScript() },
    ...rest,
  });
}

/** awscli and boto3, both finding their credentials through the job's endpoint (no AWS_* keys given, no IMDS). */
export function identityScript(): string[] {
  return [
    'echo "imds endpoint: ${AWS_EC2_METADATA_SERVICE_ENDPOINT:-unset}"',
    'echo "credentials from: ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-unset}"',
    'if env | grep -q "^AWS_ACCESS_KEY_ID="; then echo "static keys present"; else echo "no static keys"; fi',
    `echo "awscli $(${DEBIAN_AWS} sts get-caller-identity --endpoint-url "$EMU" --query Arn --output text)"`,
    `${DEBIAN_PYTHON} -c "import boto3,os; print('boto3', boto3.client('sts', endpoint_url=os.environ['EMU']).get_caller_identity()['Arn'])"`,
  ];
}

export function stages(r: JobResult, name: string): StageRecord[] {
  return r.stages.filter((s) => s.name === name);
}

/** EC2 calls that change the association, in order. */
export function changingCalls(world: World): Array<{ action: string; accessKeyId: string | undefined; status: number | undefined }> {
  return world.emu.calls
    .filter((c) => c.service === 'ec2' && c.action !== 'DescribeIamInstanceProfileAssociations')
    .map((c) => ({ action: c.action, accessKeyId: c.accessKeyId, status: c.status }));
}

/** SIGKILLs `pid` `afterMs` after the swap (ReplaceIamInstanceProfileAssociation) was sent (or after 10 s without one). */
export async function killOnceSwapSent(world: World, swapsBefore: number, pid: number, afterMs: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (
    Date.now() < deadline &&
    !changingCalls(world)
      .slice(swapsBefore)
      .some((c) => c.action === 'ReplaceIamInstanceProfileAssociation')
  )
    await sleep(20);
  await sleep(afterMs);
  process.kill(pid, 'SIGKILL');
}

/**
 * Waits until every profile change the emulator has scheduled has reached IMDS (propagation + settling), then
 * asserts the instance carries only the host's profile and IMDS serves the host's role.
 */
export async function assertOnBaseline(world: World, msg = ''): Promise<void> {
  await sleep(world.emu.imdsPropagationMs + world.emu.associationDelayMs + 300);
  const assoc = world.emu.associations();
  assert.deepEqual(
    assoc.map((a) => ({ profileArn: a.profileArn, state: a.state })),
    [{ profileArn: world.emu.hostProfileArn, state: 'associated' }],
    `the instance is not back on the host profile ${msg}: ${JSON.stringify(assoc)}`,
  );
  assert.equal(world.emu.imdsRoleArn(), world.emu.hostRoleArn, `IMDS does not serve the host role again ${msg}`);
}

/** No job state, no host lock, no unhealthy marker left in the state dir. */
export async function assertHostClean(world: World): Promise<void> {
  const jobs = await readdir(join(world.stateDir, 'jobs')).catch(() => [] as string[]);
  assert.deepEqual(jobs, [], 'job state was left behind');
  assert.equal(existsSync(join(world.stateDir, 'host.lock')), false, 'the host lock was not released');
  assert.equal(existsSync(join(world.stateDir, 'host-unhealthy.json')), false, 'the host is marked unhealthy');
}

/** Strips ANSI colour codes so log assertions read plainly. */
export { plain } from './world.js';
