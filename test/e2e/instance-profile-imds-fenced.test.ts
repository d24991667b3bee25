// Attacker, instance-profile strategy: while the instance carries the job's profile, the job (in a network
// namespace where 169.254.169.254 really answers) cannot reach IMDS — no user-data, no signed identity document,
// no credentials — and still gets the swapped role from its endpoint, which the driver fills from IMDS.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot, issuedSecrets, DEBIAN_PYTHON, type World } from './world.js';
import { addAddress, bridgeIntoNetns, createNetns, CURL, leaked, run, type Bridge, type Netns } from './attacker-helpers.js';
import { JOB_ASSUMED, JOB_ROLE_ARN, assertHostClean, assertOnBaseline, identityScript, ipJob, plain, startIpWorld } from './instance-profile-helpers.js';

const NOT_ROOT = isRoot ? false : 'needs root: job users, nftables and network namespaces';
const IMDS = '169.254.169.254';
const portOf = (url: string): number => Number(new URL(url).port);

describe('instance-profile: the job never reaches IMDS (isolation users, in a network namespace)', { skip: NOT_ROOT }, () => {
  let ns: Netns | undefined;
  let bridge: Bridge | undefined;
  let world: World | undefined;

  before(async () => {
    ns = await createNetns('ipfence');
    assert.ok(addAddress(ns, `${IMDS}/32`), `cannot add ${IMDS} to the namespace`);
    world = await startIpWorld({ isolation: 'users', driverPrefix: ns.exec, imdsEndpoint: `http://${IMDS}` });
    const aws = portOf(world.emu.endpoint);
    bridge = await bridgeIntoNetns(ns, [
      { host: '127.0.0.1', port: aws, targetPort: aws },
      { host: IMDS, port: 80, targetPort: portOf(world.emu.imdsEndpoint) },
    ]);
  });

  after(async () => {
    await bridge?.close();
    await world?.close();
    await ns?.close();
  });

  test('user-data, the identity document and credentials are refused to the job; its role comes from the endpoint', async () => {
    const w = world!;
    // Control: root in the namespace does reach the metadata service at its real address.
    const rootDoc = await run(ns!.exec[0]!, [
      ...ns!.exec.slice(1),
      CURL,
      '-s',
      '-m',
      '3',
      '-w',
      '\n%{http_code}',
      `http://${IMDS}/latest/dynamic/instance-identity/document`,
    ]);
    assert.match(rootDoc.stdout, /\n401$/, 'root reaches IMDS in the namespace (IMDSv2 wants a token: 401)');
    const imdsCallsBefore = w.emu.calls.filter((c) => c.service === 'imds').length;
    let roleDuring: string | undefined;
    const r = await ipJob(w, {
      script: [
        `rc=0; t=$(curl -s -m 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://${IMDS}/latest/api/token) || rc=$?; echo "token rc=$rc len=\${#t}"`,
        `for p in latest/user-data latest/dynamic/instance-identity/document latest/dynamic/instance-identity/pkcs7 latest/meta-data/iam/security-credentials/; do ` +
          `s=$(date +%s%N); rc=0; curl -s -m 3 -o /dev/null "http://${IMDS}/$p" || rc=$?; echo "probe $p rc=$rc ms=$(( ($(date +%s%N) - s) / 1000000 ))"; done`,
        // Without the endpoint's variables botocore falls through to IMDS and must find nothing there.
        `env -u AWS_CONTAINER_CREDENTIALS_FULL_URI -u AWS_CONTAINER_AUTHORIZATION_TOKEN ${DEBIAN_PYTHON} -c "import botocore.session as b; c=b.get_session().get_credentials(); print('boto-imds', None if c is None else c.method)"`,
        ...identityScript(),
      ],
      onStage: (name, phase) => {
        if (name === 'build_script' && phase === 'start') roleDuring = w.emu.imdsRoleArn();
      },
    });
    const log = plain(r.jobLog);
    assert.equal(r.status, 'success', r.jobLog);
    assert.equal(roleDuring, JOB_ROLE_ARN, "the instance did not carry the job's role while the job ran");
    assert.match(log, /^token rc=7 len=0$/m, 'the job got an IMDSv2 token');
    for (const p of [
      'latest/user-data',
      'latest/dynamic/instance-identity/document',
      'latest/dynamic/instance-identity/pkcs7',
      'latest/meta-data/iam/security-credentials/',
    ]) {
      const m = new RegExp(`^probe ${p.replace(/[/.-]/g, '\\$&')} rc=(\\d+) ms=(\\d+)$`, 'm').exec(log);
      assert.ok(m !== null, `no probe line for ${p}:\n${log}`);
      assert.equal(Number(m[1]), 7, `${p}: curl should fail to connect (rc 7), got rc ${m[1]}`);
      assert.ok(Number(m[2]) < 1500, `${p}: refused only after ${m[2]} ms`);
    }
    assert.match(log, /^boto-imds None$/m, 'botocore found instance credentials');
    assert.match(log, new RegExp(`^awscli ${JOB_ASSUMED.source.slice(1)}`, 'm'));
    assert.match(log, new RegExp(`^boto3 ${JOB_ASSUMED.source.slice(1)}`, 'm'));
    assert.match(log, /^imds endpoint: unset$/m);
    // The driver did read IMDS at its real address (as root, in the namespace): the job's keys came from there.
    const imdsCalls = w.emu.calls.filter((c) => c.service === 'imds').slice(imdsCallsBefore);
    assert.ok(
      imdsCalls.some((c) => c.action === 'GET /latest/meta-data/iam/security-credentials/legacy-deploy' && c.status === 200),
      'the driver never read the job role from IMDS',
    );
    assert.deepEqual(
      imdsCalls.filter((c) => /user-data|instance-identity/.test(c.action)).map((c) => c.action),
      [],
      'a job request reached IMDS',
    );
    const calls = w.emu.calls.filter((c) => c.action === 'GetCallerIdentity' && c.status === 200);
    assert.ok(
      calls.length >= 2 && calls.every((c) => w.emu.credential(c.accessKeyId ?? '')?.roleArn === JOB_ROLE_ARN),
      "the job's calls were not signed with the job role's IMDS keys",
    );
    assert.deepEqual(leaked(r.jobLog, issuedSecrets(w.emu)), [], 'a secret reached the job log');
    await assertOnBaseline(w);
    await assertHostClean(w);
  });
});
