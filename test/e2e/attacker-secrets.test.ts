// Attacker: a job prints its credentials every way it can, then hunts for secrets in other processes and on disk.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, issuedSecrets, isRoot, filesContaining, DEBIAN_AWS, DEBIAN_PYTHON, type World, DEPLOYER_ROLE } from './world.js';
import { inSandbox, leaked, openMailbox, waitForEndpoint } from './attacker-helpers.js';
import { stsClientForJobs } from './job-readable.js';

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users and nftables rules';
const response = (jobId: number) => buildJobResponse({ jobId, projectId: 5, projectPath: 'group/app', ref: 'main' });
/** Reads one field of the endpoint's answer, fetched the way the SDKs do. */
const field = (name: string) =>
  `curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" | ${DEBIAN_PYTHON} -c 'import json,sys; print(json.load(sys.stdin)["${name}"])'`;

describe('attacker: secrets from inside a job (isolation users, endpoint delivery)', { skip: NOT_ROOT }, () => {
  let world: World;
  /** Hands files to the sandboxed jobs over loopback: the JS SDK bundle, readable by the job even when the checkout is not. */
  let shipping: Awaited<ReturnType<typeof openMailbox>>;
  before(async () => {
    shipping = await openMailbox();
    shipping.set('sts.mjs', await readFile(await stsClientForJobs()));
    world = await startWorld({ isolation: 'users', slots: 1, roles: DEPLOYER_ROLE });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(async () => {
    await shipping?.close();
    await world?.close();
  });

  test('a job that prints its credentials shows only masks in the job log', async () => {
    let endpointToken: string | undefined;
    const r = await world.job({
      response: response(7201),
      variables: { JOBROLE_ROLE: 'deployer', EP: world.emu.endpoint, SHIP: shipping.url },
      onStage: async (name, phase) => {
        if (name === 'build_script' && phase === 'start') endpointToken = (await waitForEndpoint(world, 7201)).token;
      },
      steps: {
        script: [
          'env',
          `${DEBIAN_AWS} configure export-credentials --format env`,
          `${DEBIAN_PYTHON} -c "import boto3; c=boto3.Session().get_credentials().get_frozen_credentials(); print('boto3', c.access_key, c.secret_key, c.token)"`,
          'curl -sf "$SHIP/sts.mjs" -o "$HOME/sts.mjs"',
          `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true ${process.execPath} -e "import(process.env.HOME + '/sts.mjs').then(async (m) => { const c = await new m.STSClient({ region: 'us-east-1' }).config.credentials(); console.log('jssdk', JSON.stringify(c)); })"`,
          'curl -s -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo',
          'echo "token: $AWS_CONTAINER_AUTHORIZATION_TOKEN"',
          'echo "token on stderr: $AWS_CONTAINER_AUTHORIZATION_TOKEN" >&2',
          `${field('Token')} | fold -w 60`,
          `${field('SecretAccessKey')} | fold -w 20`,
          // Slowly, in two writes with a pause in between (the redactor's idle flush must not release a half).
          `S=$(${field('SecretAccessKey')}); printf 'slow: %s' "\${S:0:20}"; sleep 0.4; printf '%s\\n' "\${S:20}"`,
          `T=$(${field('Token')}); printf 'slow token: %s' "\${T:0:100}"; sleep 0.4; printf '%s\\n' "\${T:100}"`,
          // xtrace writes the expanded command to stderr.
          'set -x; : "$AWS_CONTAINER_AUTHORIZATION_TOKEN"; set +x',
        ],
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    assert.ok(endpointToken !== undefined && endpointToken.length >= 32);
    const secrets = [...issuedSecrets(world.emu), endpointToken];
    assert.ok(secrets.length >= 3);
    assert.deepEqual(leaked(r.jobLog, secrets), [], 'an issued secret reached the job log');
    // Fragments too: a fold or a pause must not leave a long enough piece of a secret in clear text.
    const fragments = secrets.flatMap((s) => Array.from({ length: Math.floor(s.length / 16) }, (_, i) => s.slice(i * 16, i * 16 + 16)));
    assert.deepEqual(leaked(r.jobLog, fragments), [], 'a 16-character piece of a secret reached the job log');
    const keyIds = world.emu.sessions.map((s) => s.accessKeyId);
    assert.deepEqual(leaked(r.jobLog, keyIds), [], 'an access key id reached the job log');
    // The attempts did get the secrets: they were masked, not missing.
    assert.match(r.jobLog, /^export AWS_SECRET_ACCESS_KEY=\[MASKED\]$/m);
    assert.match(r.jobLog, /^AWS_CONTAINER_AUTHORIZATION_TOKEN=\[MASKED\]$/m);
    assert.match(r.jobLog, /^token: \[MASKED\]$/m);
    assert.match(r.jobLog, /token on stderr: /, 'stderr goes through the redactor too (its lines may interleave with stdout)');
    assert.match(r.jobLog, /^boto3 \S+ \S+ \S+$/m);
    assert.match(r.jobLog, /^jssdk \{"accessKeyId":"\[MASKED\]"/m);
    assert.deepEqual(await filesContaining(world, secrets), [], 'a secret was left on disk after cleanup');
  });

  test("a job that reads every process's environ and cmdline and greps what it can read finds no secret", async () => {
    const mailbox = await openMailbox();
    let initPid: number | undefined;
    let endpointToken: string | undefined;
    const dump: Record<string, string> = {};
    let user: { uid: number; home: string } | undefined;
    const r = await world.job({
      response: response(7202),
      variables: { JOBROLE_ROLE: 'deployer', STATE_DIR: world.stateDir, AUDIT: world.auditLog, CONFIG: world.configPath, MB: mailbox.url },
      onStage: async (name, phase) => {
        if (name !== 'build_script') return;
        if (phase === 'start') {
          const s = await waitForEndpoint(world, 7202);
          endpointToken = s.token;
          user = s.user;
          initPid = s.initPid;
          // An attacker may learn where its job's state lives (it is no secret); it must still get nothing from it.
          mailbox.set('jobdir', s.dir);
        } else {
          // Before cleanup ends the sandbox (and its private home with it): what the job collected.
          for (const f of ['proc.txt', 'files.txt', 'state.txt'])
            dump[f] = await readFile(inSandbox(initPid!, join(user!.home, 'loot', f)), 'utf8').catch(() => '');
        }
      },
      steps: {
        script: [
          'set +e; D=$HOME/loot; mkdir -p $D',
          // Every process it can see: owner, cmdline, environ (what it can read of them).
          `for p in /proc/[0-9]*; do u=$(stat -c %u $p 2>/dev/null) || continue; { echo "=== \${p#/proc/} uid=$u cmdline"; tr '\\0' ' ' < $p/cmdline || true; echo; echo "=== \${p#/proc/} uid=$u environ"; tr '\\0' '\\n' < $p/environ || true; echo; } >> $D/proc.txt 2>/dev/null; done`,
          // Everything it can read in the temp dirs and the driver's state dir (not its own home), bounded in time
          // and size whatever the host holds; a file of its own in /tmp proves the scan reads what is there.
          'echo "probe" > /tmp/probe-$USER',
          `timeout 60 find /tmp /var/tmp /dev/shm /run/lock "$STATE_DIR" -xdev -path "$HOME" -prune -o -type f -readable -size -2M -print 2>/dev/null | head -n 20000 | while read -r f; do echo "=== $f"; head -c 65536 "$f" 2>/dev/null; echo; done > $D/files.txt`,
          // Its own job's state, once told where it is; the audit log; the config; the broker's secret feed.
          'for i in $(seq 50); do JD=$(curl -sf "$MB/jobdir") && break; sleep 0.1; done',
          `{ echo "jobdir=$JD"; ls -la "$JD" "$STATE_DIR" "$STATE_DIR/jobs" 2>&1; cat "$JD/state.json" "$AUDIT" "$CONFIG" 2>&1; ${DEBIAN_PYTHON} -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1]); print('feed', s.recv(65536))" "$JD/feed.sock" 2>&1; } > $D/state.txt`,
          'wc -c $D/*',
        ],
      },
    });
    await mailbox.close();
    assert.equal(r.status, 'success', r.jobLog);
    assert.ok(endpointToken !== undefined && user !== undefined);
    const proc = dump['proc.txt'] ?? '';
    const files = dump['files.txt'] ?? '';
    const state = dump['state.txt'] ?? '';
    // The hunt did happen: it read its own processes, files, and tried the state. Its PID namespace shows it
    // nothing else: not the broker, not the driver's run stage, no other user's process.
    assert.match(proc, /^=== 1 uid=0 cmdline\n\/bin\/sh -c .* jobrole-sandbox/m, "the job did not see its sandbox's init");
    assert.doesNotMatch(proc, /jobrole-broker/, 'the job saw the broker process');
    assert.doesNotMatch(proc, / run \S+ build_script\s*$/m, "the job saw the driver's run stage");
    assert.ok(files.includes(`=== /tmp/probe-`), 'the job read no file at all');
    assert.match(state, /^jobdir=\//m);
    // The state dir is hidden inside the sandbox (an empty tmpfs over it): not even a denied file to see.
    assert.match(state, /state\.json: (No such file or directory|Permission denied)/);

    const secrets = [...issuedSecrets(world.emu), world.emu.host.secretAccessKey, endpointToken];
    // Per process: the job user's own processes hold the endpoint token (that is how it is delivered), but no key.
    const sections = proc.split(/^=== /m).slice(1);
    assert.ok(sections.length >= 6, `the job saw only ${sections.length} /proc entries`);
    const foreignEnvirons: string[] = [];
    for (const sec of sections) {
      const [head = '', ...body] = sec.split('\n');
      const m = /^(\d+) uid=(\d+) (cmdline|environ)$/.exec(head);
      if (m === null) continue;
      const text = body.join('\n');
      const own: boolean = Number(m[2]) === user.uid;
      const forbidden: string[] = own ? issuedSecrets(world.emu) : secrets;
      assert.deepEqual(leaked(text, forbidden), [], `the ${m[3]} of process ${m[1]} (uid ${m[2]}) holds a secret`);
      if (!own && m[3] === 'environ' && text.trim() !== '') foreignEnvirons.push(`${m[1]} (uid ${m[2]})`);
    }
    assert.deepEqual(foreignEnvirons, [], "the job could read the environment of another user's process");
    assert.deepEqual(leaked(files, secrets), [], 'a file the job can read holds a secret');
    assert.deepEqual(leaked(state, secrets), [], "the job got a secret from the driver's state, audit log, config or feed");
    assert.doesNotMatch(state, /^feed b'/m, "the job connected to the broker's secret feed");
    assert.deepEqual(await filesContaining(world, secrets), [], 'a secret was left on disk after cleanup');
  });
});
