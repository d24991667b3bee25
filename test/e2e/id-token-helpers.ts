// Helpers for the ID-token end-to-end tests: tokens that match a job response, tampering, leak and call checks.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFile, writeFile } from 'node:fs/promises';
import type { AwsEmulator, CallRecord, MintOptions } from '../fakes/aws-emulator.js';
import type { JobResult } from '../harness/runner.js';
import { startWorld, type World, type WorldOptions } from './world.js';

export const AUDIENCE = 'https://jobrole.test/aud';

/** The [gitlab] section that points ID-token verification at the emulator's OIDC issuer (keys by discovery). */
function gitlabSection(emu: AwsEmulator, audience = AUDIENCE): string {
  return `[gitlab]\nurl = "${emu.oidc.issuer}"\naudience = "${audience}"\n`;
}

/**
 * A world whose config verifies ID tokens against the emulator's OIDC issuer. The issuer's URL exists only once
 * the emulator is up, so the [gitlab] section is put into the written config afterwards (before the roles).
 */
export async function startIdTokenWorld(opts: WorldOptions & { audience?: string }): Promise<World> {
  const world = await startWorld(opts);
  try {
    const toml = await readFile(world.configPath, 'utf8');
    const at = toml.indexOf('[[roles]]');
    const section = gitlabSection(world.emu, opts.audience);
    await writeFile(world.configPath, at < 0 ? `${toml}\n${section}` : `${toml.slice(0, at)}${section}\n${toml.slice(at)}`, { mode: 0o600 });
  } catch (err) {
    await world.close();
    throw err;
  }
  return world;
}

/** The IAM condition-key prefix for the emulator's issuer, e.g. 127.0.0.1:41234. */
export function oidcHost(emu: AwsEmulator): string {
  return emu.oidc.issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

export interface JobFacts {
  jobId: number;
  projectId?: number;
  projectPath?: string;
  ref?: string;
  refType?: 'branch' | 'tag';
}

/** GitLab's claims for the job the response describes (strings, as GitLab sends them), plus overrides. */
export function claimsFor(job: JobFacts, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: AUDIENCE,
    project_path: job.projectPath ?? 'group/app',
    project_id: String(job.projectId ?? 77),
    job_id: String(job.jobId),
    pipeline_id: '9001',
    ref: job.ref ?? 'main',
    ref_type: job.refType ?? 'branch',
    ref_protected: 'false',
    ...extra,
  };
}

export function mintFor(emu: AwsEmulator, job: JobFacts, extra: Record<string, unknown> = {}, opts: MintOptions = {}): Promise<string> {
  return emu.oidc.mintToken(claimsFor(job, extra), opts);
}

/** Replaces one character in the middle of the payload segment with another base64url character. */
export function flipPayloadChar(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const i = Math.floor(p.length / 2);
  const c = p[i] === 'A' ? 'B' : 'A';
  return `${h}.${p.slice(0, i)}${c}${p.slice(i + 1)}.${s}`;
}

/** Re-encodes the payload with some claims changed, keeping the original header and signature. */
export function rewritePayload(token: string, patch: Record<string, unknown>): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${h}.${Buffer.from(JSON.stringify({ ...payload, ...patch })).toString('base64url')}.${s}`;
}

/** The calls the emulator recorded since `from` (an index into emu.calls taken before the job). */
export function callsSince(emu: AwsEmulator, from: number): CallRecord[] {
  return emu.calls.slice(from);
}

/** Asserts that the job made no AWS call at all (STS, EC2, SSM or IMDS). */
export function assertNoAwsCall(emu: AwsEmulator, from: number): void {
  const calls = callsSince(emu, from).map((c) => `${c.service}:${c.action}`);
  assert.deepEqual(calls, [], `the refused job still called AWS: ${calls.join(', ')}`);
}

/** Asserts the raw token (or its signature, which is what makes it usable) is in neither log nor the audit log. */
export async function assertTokenNotLeaked(world: World, r: JobResult, token: string): Promise<void> {
  const sig = token.split('.')[2] ?? '';
  const audit = await readFile(world.auditLog, 'utf8').catch(() => '');
  for (const [where, text] of [
    ['job log', r.jobLog],
    ['runner log', r.runnerLog],
    ['audit log', audit],
  ] as const) {
    assert.ok(!text.includes(token), `the ID token appears in the ${where}`);
    if (sig.length >= 16) assert.ok(!text.includes(sig), `the ID token's signature appears in the ${where}`);
  }
}

/** Asserts a refused job is a build failure from prepare, not retried, and no job script ran. */
export function assertRefusedInPrepare(r: JobResult): void {
  assert.equal(r.status, 'failed', r.jobLog);
  assert.equal(r.prepareAttempts, 1, 'a refusal is a build failure and must not be retried');
  const ran = r.stages.map((s) => s.name).filter((n) => !['config', 'prepare', 'cleanup'].includes(n));
  assert.deepEqual(ran, [], 'no job stage may run after a refused prepare');
  assert.doesNotMatch(r.jobLog, /granted/);
}

/** Absolute path of the JS SDK's STS client, so a job's `node -e` can import it from anywhere. */
export const CLIENT_STS = createRequire(import.meta.url).resolve('@aws-sdk/client-sts');

/**
 * A job step: the JS SDK with its default credential chain calls GetCallerIdentity against
 * $AWS_ENDPOINT_URL_STS and prints "sdk <arn>". Single-quoted for bash.
 */
export function sdkCallerIdentityStep(label = 'sdk'): string {
  const js =
    `const { STSClient, GetCallerIdentityCommand } = await import(${JSON.stringify(CLIENT_STS)});` +
    `const r = await new STSClient({}).send(new GetCallerIdentityCommand({}));` +
    `console.log(${JSON.stringify(label)}, r.Arn);`;
  return `${process.execPath} --no-warnings --input-type=module -e '${js}'`;
}

/**
 * A job step that calls GetCallerIdentity through one SDK client every `everyMs` for `forMs`, failing on the
 * first error, and prints "loop done <n> calls".
 */
export function sdkLoopStep(forMs: number, everyMs: number): string {
  const js =
    `const { STSClient, GetCallerIdentityCommand } = await import(${JSON.stringify(CLIENT_STS)});` +
    `const c = new STSClient({}); const end = Date.now() + ${forMs}; let n = 0;` +
    `while (Date.now() < end) { const r = await c.send(new GetCallerIdentityCommand({})); n++;` +
    ` console.log("call", n, r.Arn); await new Promise((res) => setTimeout(res, ${everyMs})); }` +
    `console.log("loop done", n, "calls");`;
  return `${process.execPath} --no-warnings --input-type=module -e '${js}'`;
}
