// Attacker: another job's user, a wrong token, a foreign Host header or root itself asks a job's credentials
// endpoint; only the job's own user with the job's token is answered, and another uid's connection is reset
// at accept, before anything it sent is read.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, issuedSecrets, isRoot, filesContaining, type World, DEPLOYER_ROLE } from './world.js';
import { curlAs, jobUser, leaked, openMailbox, waitForEndpoint } from './attacker-helpers.js';

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users and nftables rules';
const response = (jobId: number) => buildJobResponse({ jobId, projectId: 5, projectPath: 'group/app', ref: 'main' });

describe("attacker: someone else asks a job's credentials endpoint (isolation users, slots 2)", { skip: NOT_ROOT }, () => {
  let world: World;
  before(async () => {
    world = await startWorld({ isolation: 'users', slots: 2, roles: DEPLOYER_ROLE });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(() => world?.close());

  test("the other slot's job, root, nobody, a wrong or missing token and a foreign Host all get no credentials", async () => {
    // The test talks to the sandboxed jobs over loopback (their /tmp is private, the host read-only).
    const mailbox = await openMailbox();
    // Job A holds its endpoint open until the test is done with it.
    const jobA = world.job({
      response: response(7301),
      variables: { JOBROLE_ROLE: 'deployer', MB: mailbox.url },
      steps: { script: ['for i in $(seq 300); do curl -sf "$MB/done" >/dev/null && break; sleep 0.1; done; echo job-a-done'] },
    });
    let a: Awaited<ReturnType<typeof waitForEndpoint>> | undefined;
    let logB = '';
    try {
      a = await waitForEndpoint(world, 7301);
      const port = new URL(a.url).port;
      // What an attacker would have to learn: A's URL and token (the test hands them over; job B runs as slot 2's user).
      const jobB = await world.job({
        response: response(7302),
        variables: { JOBROLE_ROLE: 'deployer', STOLEN_URL: a.url, STOLEN_TOKEN: a.token },
        steps: {
          script: [
            'URL="$STOLEN_URL"; TOK="$STOLEN_TOKEN"',
            'echo "b is $(id -un) uid $(id -u)"',
            'code=$(curl -s -m 5 -o $HOME/body1 -w "%{http_code}" -H "Authorization: $TOK" "$URL" || true); echo "stolen-token code=$code body=$(cat $HOME/body1 2>/dev/null)"',
            'code=$(curl -s -m 5 -o $HOME/body2 -w "%{http_code}" -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$URL" || true); echo "own-token code=$code body=$(cat $HOME/body2 2>/dev/null)"',
            `code=$(curl -s -m 5 -o $HOME/body3 -w "%{http_code}" -H "Authorization: $TOK" -H "Host: localhost:${port}" "http://localhost:${port}/creds" || true); echo "via-localhost code=$code body=$(cat $HOME/body3 2>/dev/null)"`,
          ],
        },
      });
      assert.equal(jobB.status, 'success', jobB.jobLog);
      logB = jobB.jobLog;
      const bUser = /^b is (\S+) uid (\d+)$/m.exec(jobB.jobLog);
      assert.ok(bUser !== null && Number(bUser[2]) !== a.user.uid, "job B must run as the other slot's user");
      for (const probe of ['stolen-token', 'own-token', 'via-localhost']) {
        // Another uid's connection is reset unanswered: curl reports no HTTP status at all.
        assert.match(jobB.jobLog, new RegExp(`^${probe} code=000 body=$`, 'm'), `${probe}: job B was not refused at accept`);
      }
      assert.doesNotMatch(jobB.jobLog, /AccessKeyId|SecretAccessKey|"Token"/);

      // From the test, as each kind of caller (setpriv as the uid; the test itself is root).
      const auth = { Authorization: a.token };
      const host = { Host: `127.0.0.1:${port}` };
      const other = jobUser(world, a.user.uid === jobUser(world, 1).uid ? 2 : 1);
      const cases: Array<[string, Awaited<ReturnType<typeof curlAs>>, number]> = [
        ['slot B user, right token', await curlAs(other, a.url, auth), 0],
        ['root, right token', await curlAs('root', a.url, auth), 0],
        ['nobody, right token', await curlAs({ uid: 65534, gid: 65534 }, a.url, auth), 0],
        ['job A user, wrong token', await curlAs(a.user, a.url, { Authorization: a.token.slice(0, -1) + (a.token.endsWith('A') ? 'B' : 'A') }), 403],
        ['job A user, token as Bearer', await curlAs(a.user, a.url, { Authorization: `Bearer ${a.token}` }), 403],
        ['job A user, no token', await curlAs(a.user, a.url, {}), 401],
        ['job A user, right token, foreign Host', await curlAs(a.user, a.url, { ...auth, Host: 'attacker.example.com' }), 403],
        ['job A user, right token, Host without port', await curlAs(a.user, a.url, { ...auth, Host: '127.0.0.1' }), 403],
      ];
      for (const [what, r, expected] of cases) {
        assert.equal(r.status, expected, `${what}: HTTP ${r.status}`);
        // Reset at accept: curl fails to connect (7) or to receive (56), depending on when the RST lands.
        if (expected === 0) assert.ok([7, 56].includes(r.code), `${what}: curl should see the connection reset (exit 7 or 56), got exit ${r.code}`);
        assert.doesNotMatch(r.body, /AccessKeyId|SecretAccessKey|Token"/, `${what}: the refusal carries credentials`);
        assert.deepEqual(leaked(r.body, [...issuedSecrets(world.emu), a.token]), [], `${what}: a secret in the body`);
      }
      // Control: the job's own user with its token and the right Host is answered.
      const ok = await curlAs(a.user, a.url, { ...auth, ...host });
      assert.equal(ok.status, 200, "the job's own user was refused: the negative cases prove nothing");
      assert.match(ok.body, /"AccessKeyId":"ASIA/);
    } finally {
      mailbox.set('done', 'yes');
    }
    const ra = await jobA;
    await mailbox.close();
    assert.equal(ra.status, 'success', ra.jobLog);
    const secretsA = world.emu.sessions.filter((s) => s.sessionName === 'gitlab-5-7301').flatMap((s) => [s.secretAccessKey, s.sessionToken ?? '']);
    assert.ok(secretsA.length >= 2);
    assert.deepEqual(leaked(logB, [...secretsA, a.token]), [], "job A's secret reached job B's log");
    assert.deepEqual(await filesContaining(world, [...issuedSecrets(world.emu), a.token]), [], 'a secret was left on disk after cleanup');
  });
});
