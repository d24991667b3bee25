// End to end as root with isolation "users": an instance-profile job's user stays fenced off IMDS the whole time
// and gets the swapped role from its endpoint, which follows IMDS's rotation and masks each new secret.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEBIAN_PYTHON, filesContaining, isRoot, issuedSecrets, type World } from './world.js';
import { inSandbox, leaked, peekJobStates } from './attacker-helpers.js';
import { JOB_ASSUMED, JOB_ROLE_ARN, assertHostClean, assertOnBaseline, identityScript, ipJob, plain, startIpWorld } from './instance-profile-helpers.js';

const hasNft = spawnSync('nft', ['--version']).status === 0;
const hash = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 16);
const CREDS = 'curl -sS -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"';
/** The hash of the access key id the endpoint serves now (hashed: the redactor masks anything shaped like a key id). */
const KEY_HASH = `${CREDS} | ${DEBIAN_PYTHON} -c 'import hashlib,json,sys; print(hashlib.sha256(json.load(sys.stdin)["AccessKeyId"].encode()).hexdigest()[:16])'`;

/** The uids the world's IMDS block rejects, or undefined when its table does not exist. */
function blockedUids(world: World): number[] | undefined {
  const r = spawnSync('nft', ['list', 'table', 'inet', world.firewallTable], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const uids = new Set<number>();
  for (const m of r.stdout.matchAll(/meta skuid (\{[^}]*\}|\d+)/g)) for (const n of (m[1] ?? '').match(/\d+/g) ?? []) uids.add(Number(n));
  return [...uids].sort((a, b) => a - b);
}

describe('instance-profile with isolation "users"', { skip: !isRoot || !hasNft ? 'needs root and nft' : false }, () => {
  let world: World;
  let uid: number;
  before(async () => {
    world = await startIpWorld({ isolation: 'users', propagationMs: 300, rotationPollSeconds: 1 });
    uid = Number(execFileSync('id', ['-u', `${world.userPrefix}1`], { encoding: 'utf8' }).trim());
  });
  after(() => world.close());

  test('the job user stays fenced off IMDS throughout; awscli and boto3 get the swapped role from the endpoint', async () => {
    assert.deepEqual(blockedUids(world), [uid], 'host init did not block the job user');
    let during: number[] | undefined | 'unset' = 'unset';
    let roleDuring: string | undefined;
    const r = await ipJob(world, {
      script: ['echo "as $(id -un)"', ...identityScript()],
      onStage: (name, phase) => {
        if (name === 'build_script' && phase === 'start') {
          during = blockedUids(world);
          roleDuring = world.emu.imdsRoleArn();
        }
      },
    });
    const log = plain(r.jobLog);
    assert.equal(r.status, 'success', r.jobLog);
    assert.match(log, new RegExp(`^as ${world.userPrefix}1$`, 'm'));
    assert.match(log, new RegExp(`^awscli ${JOB_ASSUMED.source.slice(1)}`, 'm'));
    assert.match(log, new RegExp(`^boto3 ${JOB_ASSUMED.source.slice(1)}`, 'm'));
    assert.match(log, /^imds endpoint: unset$/m);
    assert.match(log, /^credentials from: http:\/\/127\.0\.0\.1:\d+\/creds$/m);
    assert.doesNotMatch(log, /may reach the instance metadata service/);
    // While the job ran, the instance carried the job's role and the job user was still blocked from IMDS.
    assert.deepEqual(during, [uid], 'the IMDS block was lifted for the job user');
    assert.match(roleDuring ?? '', /role\/ci\/legacy-deploy$/);
    // The job's STS calls were signed with the keys IMDS handed out for the job role.
    const calls = world.emu.calls.filter((c) => c.action === 'GetCallerIdentity' && c.status === 200);
    assert.ok(calls.length >= 2);
    for (const c of calls) assert.equal(world.emu.credential(c.accessKeyId ?? '')?.roleArn, JOB_ROLE_ARN);
    assert.deepEqual(blockedUids(world), [uid], 'the IMDS block changed at cleanup');
    await assertOnBaseline(world);
    await assertHostClean(world);
    assert.equal(spawnSync('pgrep', ['-u', String(uid)]).status, 1, 'a process of the job user survived cleanup');
  });

  test("IMDS rotates the role's credentials mid-job: the endpoint serves the new key, and its secrets are masked", async () => {
    let rotated = false;
    const job = ipJob(world, {
      script: [
        'first=$(' + KEY_HASH + '); echo "first key $first"; touch "$HOME/first-key-seen"',
        // Wait for the endpoint to pick up the rotation (it asks IMDS every second here).
        'for i in $(seq 200); do k=$(' + KEY_HASH + '); [ "$k" != "$first" ] && break; sleep 0.1; done; echo "then key $k"',
        `echo "now: $(${CREDS})"`,
        ...identityScript(),
      ],
      onStage: async (name, phase) => {
        if (name !== 'build_script' || phase !== 'start') return;
        // Rotate once the job has read its first key (root reads the job user's home, inside its sandbox).
        void (async () => {
          const until = Date.now() + 30_000;
          while (Date.now() < until) {
            const s = (await peekJobStates(world)).find((j) => j.user !== undefined && j.initPid !== undefined);
            if (
              s?.user !== undefined &&
              s.initPid !== undefined &&
              (await access(inSandbox(s.initPid, join(s.user.home, 'first-key-seen'))).then(
                () => true,
                () => false,
              ))
            ) {
              world.emu.rotateImdsCredentials();
              rotated = true;
              return;
            }
            await sleep(50);
          }
        })();
      },
    });
    const r = await job;
    assert.equal(r.status, 'success', r.jobLog);
    assert.ok(rotated, 'the test never rotated the credentials');
    const log = plain(r.jobLog);
    const first = /^first key (\w+)$/m.exec(log)?.[1];
    const then = /^then key (\w+)$/m.exec(log)?.[1];
    assert.ok(first !== undefined && then !== undefined, log);
    assert.notEqual(then, first, 'the endpoint never served the rotated key');
    // Both keys are IMDS sessions of the job role, in the order the emulator issued them.
    const jobSessions = world.emu.sessions.filter((s) => s.kind === 'instance-profile' && s.roleArn === JOB_ROLE_ARN);
    const firstSession = jobSessions.find((s) => hash(s.accessKeyId) === first);
    const thenSession = jobSessions.find((s) => hash(s.accessKeyId) === then);
    assert.ok(firstSession !== undefined && thenSession !== undefined, 'a served key is not an IMDS session of the job role');
    assert.ok(thenSession.issuedAt >= firstSession.issuedAt);
    // The new secret, learned mid-stage, was masked when the job printed it.
    assert.match(log, /^now: \{"AccessKeyId":"\[MASKED\]","SecretAccessKey":"\[MASKED\]","Token":"\[MASKED\]"/m);
    assert.deepEqual(
      leaked(r.jobLog, [thenSession.secretAccessKey, thenSession.sessionToken ?? '', thenSession.accessKeyId]),
      [],
      'the rotated secret reached the log',
    );
    assert.deepEqual(leaked(r.jobLog, issuedSecrets(world.emu)), [], 'a secret reached the log');
    // awscli and boto3, started after the rotation, signed with the new key.
    const after = world.emu.calls.filter((c) => c.action === 'GetCallerIdentity' && c.status === 200 && c.accessKeyId === thenSession.accessKeyId);
    assert.ok(after.length >= 2, 'the clients did not use the rotated key');
    assert.match(log, new RegExp(`^awscli ${JOB_ASSUMED.source.slice(1)}`, 'm'));
    // The endpoint audited the new key (never its secret).
    const refreshes = (await world.audit()).filter((e) => e.event === 'refresh' && e.access_key_id === thenSession.accessKeyId);
    assert.equal(refreshes.length, 1, 'the rotation was not audited once');
    const stale = (await world.audit()).filter((e) => e.event === 'refresh' && e.access_key_id === firstSession.accessKeyId);
    assert.deepEqual(stale, [], 'the key prepare issued was audited again as a refresh');
    assert.deepEqual(await filesContaining(world, issuedSecrets(world.emu)), [], 'a secret was left on disk after cleanup');
    await assertOnBaseline(world);
    await assertHostClean(world);
  });
});
