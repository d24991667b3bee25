// End to end through the runner harness: strategy web-identity (STS with the job's ID token, no host credentials),
// delivered as env credentials or as a web-identity token file the job's own SDK uses and refreshes with.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { buildJobResponse } from '../harness/runner.js';
import { DEBIAN_AWS, DEBIAN_PYTHON, filesContaining, issuedSecrets, type World } from './world.js';
import {
  AUDIENCE,
  assertNoAwsCall,
  assertRefusedInPrepare,
  assertTokenNotLeaked,
  callsSince,
  mintFor,
  oidcHost,
  sdkCallerIdentityStep,
  sdkLoopStep,
  startIdTokenWorld,
  type JobFacts,
} from './id-token-helpers.js';

const ROLES = `
[[roles]]
name = "wi-app"
arn = "arn:aws:iam::111122223333:role/wi-app"
strategy = "web-identity"
  [roles.allow]
  projects = ["group/app"]

[[roles]]
name = "wi-other"
arn = "arn:aws:iam::111122223333:role/wi-other"
strategy = "web-identity"
  [roles.allow]
  projects = ["group/app"]

[[roles]]
name = "wi-file"
arn = "arn:aws:iam::111122223333:role/wi-file"
strategy = "web-identity"
delivery = "web-identity-file"
  [roles.allow]
  projects = ["group/app"]
`;

const ACCOUNT = '111122223333';
const assumed = (role: string, jobId: number) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/gitlab-77-${jobId}`;
const subOf = (f: JobFacts) => `project_path:group/app:ref_type:branch:ref:${f.ref ?? 'main'}`;

describe('strategy web-identity', () => {
  let world: World;
  let nextJob = 7100;
  before(async () => {
    world = await startIdTokenWorld({ delivery: 'env', roles: ROLES });
    const host = oidcHost(world.emu);
    const federated = (sub: string) => ({
      issuer: world.emu.oidc.issuer,
      conditions: { StringEquals: { [`${host}:aud`]: AUDIENCE }, StringLike: { [`${host}:sub`]: sub } },
    });
    // AWS's trust policy is the gate: these roles trust no principal at all, only the issuer's tokens.
    world.emu.addRole({ arn: world.roleArn('wi-app'), trust: { federated: federated('project_path:group/app:ref_type:branch:ref:main') } });
    world.emu.addRole({ arn: world.roleArn('wi-other'), trust: { federated: federated('project_path:group/other:ref_type:branch:ref:*') } });
    world.emu.addRole({ arn: world.roleArn('wi-file'), trust: { federated: federated('project_path:group/app:ref_type:branch:ref:*') } });
  });
  after(() => world.close());

  const response = (f: JobFacts) => buildJobResponse({ jobId: f.jobId, projectId: 77, projectPath: 'group/app', ref: f.ref ?? 'main' });

  describe('delivery env', () => {
    test('awscli and boto3 inside the job see the web-identity role; the host credentials are never used', async () => {
      const facts = { jobId: nextJob++ };
      const token = await mintFor(world.emu, facts);
      const from = world.emu.calls.length;
      const r = await world.job({
        response: response(facts),
        variables: { JOBROLE_ROLE: 'wi-app', JOBROLE_ID_TOKEN: token, AWS_ENDPOINT: world.emu.endpoint },
        steps: {
          script: [
            `${DEBIAN_AWS} sts get-caller-identity --endpoint-url "$AWS_ENDPOINT" --query Arn --output text`,
            `${DEBIAN_PYTHON} -c "import boto3,os; print('boto3', boto3.client('sts', endpoint_url=os.environ['AWS_ENDPOINT']).get_caller_identity()['Arn'])"`,
          ],
        },
      });
      assert.equal(r.status, 'success', r.jobLog);
      const arn = assumed('wi-app', facts.jobId);
      assert.match(r.jobLog, new RegExp(`^${arn}$`, 'm'));
      assert.match(r.jobLog, new RegExp(`^boto3 ${arn}$`, 'm'));

      const calls = callsSince(world.emu, from);
      const web = calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity');
      assert.equal(web.length, 1, 'prepare calls AssumeRoleWithWebIdentity once');
      assert.equal(web[0]?.params['RoleArn'], world.roleArn('wi-app'));
      assert.equal(web[0]?.accessKeyId, undefined, 'AssumeRoleWithWebIdentity is sent unsigned');
      assert.deepEqual(
        calls.filter((c) => c.service === 'imds' || c.action === 'AssumeRole').map((c) => c.action),
        [],
        'a web-identity role must not touch the host credentials (IMDS, AssumeRole)',
      );
      const session = world.emu.sessions.find((s) => s.sessionName === `gitlab-77-${facts.jobId}`);
      assert.equal(session?.kind, 'web-identity');
      assert.equal(session?.issuedTo, subOf(facts), "the session was issued for the token's sub");

      const secrets = issuedSecrets(world.emu);
      for (const s of secrets) assert.ok(!r.jobLog.includes(s), 'a secret reached the job log');
      assert.deepEqual(await filesContaining(world, [...secrets, token]), [], 'a secret or the token was left on disk after cleanup');
      await assertTokenNotLeaked(world, r, token);
    });

    test("a role whose trust policy wants another sub is refused by STS: a build failure pointing at the trust policy's sub/aud", async () => {
      const facts = { jobId: nextJob++ };
      const token = await mintFor(world.emu, facts);
      const from = world.emu.calls.length;
      const r = await world.job({
        response: response(facts),
        variables: { JOBROLE_ROLE: 'wi-other', JOBROLE_ID_TOKEN: token },
        steps: { script: ['echo should-not-run'] },
      });
      assertRefusedInPrepare(r);
      const host = oidcHost(world.emu).replace(/[.]/g, '\\.');
      assert.match(r.jobLog, new RegExp(`STS refused AssumeRoleWithWebIdentity for role ${world.roleArn('wi-other')} \\(AccessDenied`));
      assert.match(r.jobLog, new RegExp(`conditions on "${host}:sub" and "${host}:aud" must match this job`));
      assert.match(r.jobLog, new RegExp(`sub=${JSON.stringify(subOf(facts))} and aud=${JSON.stringify(AUDIENCE).replace(/[.]/g, '\\.')}`));
      assert.doesNotMatch(r.jobLog, /should-not-run/);
      const calls = callsSince(world.emu, from);
      assert.deepEqual(
        calls.map((c) => `${c.action} ${c.error ?? ''}`),
        ['AssumeRoleWithWebIdentity AccessDenied'],
        'one refused call, not retried',
      );
      assert.ok(!world.emu.sessions.some((s) => s.sessionName === `gitlab-77-${facts.jobId}`));
      await assertTokenNotLeaked(world, r, token);
    });

    // The policy requires a verified token for a web-identity role: the author is told to declare id_tokens.
    test('a web-identity role asked for without an ID token is a build failure telling the author to declare id_tokens', async () => {
      const facts = { jobId: nextJob++ };
      const from = world.emu.calls.length;
      const r = await world.job({ response: response(facts), variables: { JOBROLE_ROLE: 'wi-app' }, steps: { script: ['echo should-not-run'] } });
      assertRefusedInPrepare(r);
      assert.match(r.jobLog, /id_tokens/);
      assertNoAwsCall(world.emu, from);
    });

    // The raw token is this role's credential (until the job's timeout): it is registered for masking with every delivery.
    test('a job that prints its ID token sees it masked in the job log', async () => {
      const facts = { jobId: nextJob++ };
      const token = await mintFor(world.emu, facts);
      const r = await world.job({
        response: response(facts),
        variables: { JOBROLE_ROLE: 'wi-app', JOBROLE_ID_TOKEN: token },
        steps: { script: ['echo "token=$JOBROLE_ID_TOKEN"'] },
      });
      assert.equal(r.status, 'success', r.jobLog);
      assert.match(r.jobLog, /^token=\[MASKED\]$/m);
      await assertTokenNotLeaked(world, r, token);
    });
  });

  describe('delivery web-identity-file', () => {
    test("the job's own SDK assumes the role from the token file; the file is 0600 and gone after cleanup", async () => {
      const facts = { jobId: nextJob++ };
      const token = await mintFor(world.emu, facts);
      const from = world.emu.calls.length;
      const r = await world.job({
        response: response(facts),
        variables: { JOBROLE_ROLE: 'wi-file', JOBROLE_ID_TOKEN: token, AWS_ENDPOINT_URL_STS: world.emu.endpoint },
        steps: {
          script: [
            'echo "token file: $AWS_WEB_IDENTITY_TOKEN_FILE"',
            'stat -c "token file mode: %a" "$AWS_WEB_IDENTITY_TOKEN_FILE"',
            'echo "role arn: $AWS_ROLE_ARN"',
            'echo "session name: $AWS_ROLE_SESSION_NAME"',
            'if [ -n "${AWS_ACCESS_KEY_ID:-}${AWS_SECRET_ACCESS_KEY:-}${AWS_SESSION_TOKEN:-}" ]; then echo "static keys present"; fi',
            sdkCallerIdentityStep(),
            // A job that prints the token (from the file or its variable) gets it masked.
            'echo "file=$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE")"',
            'echo "variable=$JOBROLE_ID_TOKEN"',
          ],
        },
      });
      assert.equal(r.status, 'success', r.jobLog);
      assert.match(r.jobLog, /^token file mode: 600$/m);
      assert.match(r.jobLog, new RegExp(`^role arn: ${world.roleArn('wi-file')}$`, 'm'));
      assert.match(r.jobLog, new RegExp(`^session name: gitlab-77-${facts.jobId}$`, 'm'));
      assert.doesNotMatch(r.jobLog, /^static keys present$/m);
      assert.match(r.jobLog, new RegExp(`^sdk ${assumed('wi-file', facts.jobId)}$`, 'm'));
      assert.match(r.jobLog, /^file=\[MASKED\]$/m);
      assert.match(r.jobLog, /^variable=\[MASKED\]$/m);

      // The SDK in the job called STS itself: a second AssumeRoleWithWebIdentity, and its own keys signed GetCallerIdentity.
      const calls = callsSince(world.emu, from);
      assert.ok(calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity').length >= 2, calls.map((c) => c.action).join(', '));
      const sessions = world.emu.sessions.filter((s) => s.sessionName === `gitlab-77-${facts.jobId}`);
      const gci = calls.find((c) => c.action === 'GetCallerIdentity');
      assert.ok(gci?.accessKeyId !== undefined && gci.accessKeyId !== sessions[0]?.accessKeyId, "the job used the SDK's own session, not prepare's");

      const file = /^token file: (\/\S+)$/m.exec(r.jobLog)?.[1];
      assert.ok(file !== undefined && file.startsWith(world.stateDir), `token file under the state dir: ${file}`);
      assert.equal(existsSync(file), false, 'the token file survived cleanup');
      assert.deepEqual(await filesContaining(world, [token]), [], 'the token was left on disk after cleanup');
      await assertTokenNotLeaked(world, r, token);
    });

    test('a long job keeps working: the SDK refreshes from the token file over three credential lifetimes', async () => {
      const lifetimeMs = 9000;
      const prevScale = world.emu.credentialLifetimeScale;
      // The SDK asks for STS's default 3600 s: scaled, every session lives 9 s.
      world.emu.credentialLifetimeScale = lifetimeMs / 3600_000;
      try {
        const facts = { jobId: nextJob++ };
        const token = await mintFor(world.emu, facts);
        const from = world.emu.calls.length;
        const r = await world.job({
          response: response(facts),
          variables: { JOBROLE_ROLE: 'wi-file', JOBROLE_ID_TOKEN: token, AWS_ENDPOINT_URL_STS: world.emu.endpoint },
          steps: { script: [sdkLoopStep(3 * lifetimeMs, 1500)] },
        });
        assert.equal(r.status, 'success', r.jobLog);
        const done = /^loop done (\d+) calls$/m.exec(r.jobLog);
        assert.ok(done !== null && Number(done[1]) >= 12, `too few calls: ${done?.[0]}`);
        assert.doesNotMatch(r.jobLog, /ExpiredToken|InvalidClientTokenId|error/i);

        const calls = callsSince(world.emu, from);
        const gci = calls.filter((c) => c.action === 'GetCallerIdentity');
        assert.ok(
          gci.every((c) => c.status === 200),
          'every call of the job succeeded',
        );
        const span = (gci.at(-1)?.at ?? 0) - (gci[0]?.at ?? 0);
        assert.ok(span >= 2.5 * lifetimeMs, `the job's calls spanned only ${span} ms`);
        assert.ok(new Set(gci.map((c) => c.accessKeyId)).size >= 3, 'the SDK never refreshed its credentials');
        const refreshes = calls.filter((c) => c.action === 'AssumeRoleWithWebIdentity');
        assert.ok(refreshes.length >= 4 && refreshes.every((c) => c.status === 200), `${refreshes.length} AssumeRoleWithWebIdentity calls`);
        // Every key the job used was a live web-identity session of this job when it was used.
        for (const c of gci) {
          const cred = world.emu.credential(c.accessKeyId ?? '');
          assert.equal(cred?.kind, 'web-identity');
          assert.equal(cred?.sessionName, `gitlab-77-${facts.jobId}`);
          assert.ok(cred.expiresAt !== undefined && cred.expiresAt > c.at);
        }
        assert.deepEqual(await filesContaining(world, [token]), [], 'the token was left on disk after cleanup');
      } finally {
        world.emu.credentialLifetimeScale = prevScale;
      }
    });
  });
});
