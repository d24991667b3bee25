// A job that outlives its credentials several times over: awscli, a long-lived boto3 client and a long-lived
// JS SDK client keep working on refreshed sessions, and none of the secrets issued mid-stage reach the log.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, issuedSecrets, isRoot, filesContaining, DEBIAN_AWS, DEBIAN_PYTHON, type World } from './world.js';
import { leaked, openMailbox, type Mailbox } from './attacker-helpers.js';
import { stsClientForJobs } from './job-readable.js';

const ROLES = `
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
max_duration = "15m"
  [roles.allow]
  projects = ["group/app"]
`;

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users and nftables rules';
/** 900 s sessions × 0.01 = 9 s of real life; the broker refreshes them at half-life. */
const SCALE = 0.01;
const LIFETIME_S = 9;
const RUN_S = 3 * LIFETIME_S;
const short = (accessKeyId: string) => createHash('sha256').update(accessKeyId).digest('hex').slice(0, 12);

// One client for the whole job each: they must refresh through the endpoint on their own.
const PY_LONG = `
import boto3, hashlib, os, time
c = boto3.client('sts', endpoint_url=os.environ['EP'], region_name='us-east-1')
end = time.time() + ${RUN_S}
while time.time() < end:
    try:
        c.get_caller_identity()
        k = c._request_signer._credentials.get_frozen_credentials().access_key
        print('py-long ok', hashlib.sha256(k.encode()).hexdigest()[:12], flush=True)
    except Exception as e:
        print('py-long FAIL', type(e).__name__, flush=True)
    time.sleep(2)
`;
/** Imports the JS SDK bundle the job fetched into its home (the checkout may be 0700, the test's temp dir is not in the sandbox). */
const JS_LONG = `
import { createHash } from 'node:crypto';
const m = await import(process.env.HOME + '/sts.mjs');
const c = new m.STSClient({ region: 'us-east-1', endpoint: process.env.EP });
const end = Date.now() + ${RUN_S * 1000};
while (Date.now() < end) {
  try {
    await c.send(new m.GetCallerIdentityCommand({}));
    const k = (await c.config.credentials()).accessKeyId;
    console.log('js-long ok', createHash('sha256').update(k).digest('hex').slice(0, 12));
  } catch (e) {
    console.log('js-long FAIL', e.name);
  }
  await new Promise((r) => setTimeout(r, 2000));
}
`;

describe('a job longer than its credentials (isolation users, endpoint delivery)', { skip: NOT_ROOT }, () => {
  let world: World;
  let shipping: Mailbox;
  before(async () => {
    world = await startWorld({ isolation: 'users', slots: 1, roles: ROLES, emulator: { credentialLifetimeScale: SCALE } });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    // The job's sandbox does not see the test's temp dirs: the scripts reach it over loopback.
    shipping = await openMailbox();
    shipping.set('long.py', PY_LONG);
    shipping.set('long.mjs', JS_LONG);
    shipping.set('sts.mjs', await readFile(await stsClientForJobs()));
  });
  after(async () => {
    await shipping?.close();
    await world?.close();
  });

  test(`runs ${RUN_S} s on ${LIFETIME_S} s sessions with awscli, boto3 and the JS SDK, and never logs a secret`, async () => {
    const C = 'curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"';
    const r = await world.job({
      response: buildJobResponse({ jobId: 7501, projectId: 5, projectPath: 'group/app', ref: 'main' }),
      variables: { JOBROLE_ROLE: 'deployer', EP: world.emu.endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', SHIP: shipping.url },
      steps: {
        script: [
          'for f in long.py long.mjs sts.mjs; do curl -sf "$SHIP/$f" -o "$HOME/$f"; done',
          `${DEBIAN_PYTHON} "$HOME/long.py" & ${process.execPath} "$HOME/long.mjs" &`,
          `end=$((SECONDS + ${RUN_S})); while [ $SECONDS -lt $end ]; do ` +
            `if ${DEBIAN_AWS} sts get-caller-identity --endpoint-url "$EP" --query Arn --output text >/dev/null; then echo "aws ok"; else echo "aws FAIL"; fi; ` +
            // The credentials issued so far, printed mid-stage: the new ones must be masked as well.
            `echo "now: $(${C})"; sleep 1; done`,
          'wait',
        ],
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assert.deepEqual(
      r.jobLog.split('\n').filter((l) => /^(aws|py-long|js-long) FAIL/.test(l)),
      [],
      'a client failed on the way',
    );

    const mine = world.emu.sessions.filter((s) => s.sessionName === 'gitlab-5-7501');
    assert.ok(mine.length >= 4, `only ${mine.length} sessions were issued: the broker did not refresh`);
    const lifetimes = mine.map((s) => ((s.expiresAt ?? 0) - s.issuedAt) / 1000);
    assert.ok(
      lifetimes.every((l) => l <= LIFETIME_S + 1),
      `sessions lived longer than intended: ${lifetimes.join(', ')}`,
    );

    // Every STS call of the job succeeded, with at least 3 different keys, all of them this job's.
    const calls = world.emu.calls.filter((c) => c.action === 'GetCallerIdentity');
    assert.ok(calls.length >= 15, `only ${calls.length} GetCallerIdentity calls`);
    assert.deepEqual(
      calls.filter((c) => c.status !== 200).map((c) => `${c.status ?? '?'} ${c.error ?? ''}`),
      [],
      'a call was refused (expired credentials?)',
    );
    const keys = new Set(calls.map((c) => c.accessKeyId));
    assert.ok(keys.size >= 3, `only ${keys.size} distinct access keys were used`);
    const myKeys = new Set(mine.map((s) => s.accessKeyId));
    assert.ok(
      [...keys].every((k) => k !== undefined && myKeys.has(k)),
      "a call used a key that is not this job's",
    );

    // The long-lived clients themselves moved on to new keys (they did not just live on the first one).
    const known = new Map(mine.map((s) => [short(s.accessKeyId), s.accessKeyId]));
    for (const client of ['py-long', 'js-long']) {
      const used = [...r.jobLog.matchAll(new RegExp(`^${client} ok (\\w+)$`, 'gm'))].map((m) => m[1]!);
      assert.ok(used.length >= 8, `${client}: only ${used.length} successful calls`);
      assert.ok(
        used.every((h) => known.has(h)),
        `${client}: used a key the emulator did not issue to this job`,
      );
      assert.ok(new Set(used).size >= 3, `${client}: used only ${new Set(used).size} distinct keys`);
    }
    assert.ok((r.jobLog.match(/^aws ok$/gm) ?? []).length >= 5);

    // Secrets issued while the stage ran are masked too (the run stage learns them from the broker's feed).
    const printed = (r.jobLog.match(/^now: \{"AccessKeyId":"\[MASKED\]","SecretAccessKey":"\[MASKED\]","Token":"\[MASKED\]"/gm) ?? []).length;
    assert.ok(printed >= 5, `only ${printed} masked endpoint answers in the log`);
    const secrets = issuedSecrets(world.emu);
    assert.deepEqual(leaked(r.jobLog, secrets), [], 'a secret reached the job log');
    assert.deepEqual(leaked(r.jobLog, [...myKeys]), [], 'an access key id reached the job log');
    assert.deepEqual(await filesContaining(world, secrets), [], 'a secret was left on disk after cleanup');
  });
});
