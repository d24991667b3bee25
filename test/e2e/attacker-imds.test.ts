// Attacker: a job tries the instance metadata service (and the ECS/EKS credential addresses) from inside a
// network namespace where they really answer; the job user is refused at once while root (the driver) gets through.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, issuedSecrets, isRoot, DEBIAN_AWS, DEBIAN_PYTHON, type World, DEPLOYER_ROLE } from './world.js';
import { addAddress, bridgeIntoNetns, createNetns, CURL, jobUser, leaked, run, SETPRIV, asUser, type Bridge, type Netns } from './attacker-helpers.js';

const NOT_ROOT = isRoot ? false : 'needs root: job users, nftables and network namespaces';
const V4 = ['169.254.169.254', '169.254.170.2', '169.254.170.23'];
const V6 = 'fd00:ec2::254';
const portOf = (url: string): number => Number(new URL(url).port);

describe('attacker: instance metadata from a job (isolation users, in a network namespace)', { skip: NOT_ROOT }, () => {
  let ns: Netns | undefined;
  let bridge: Bridge | undefined;
  let world: World | undefined;
  let v6 = false;

  before(async () => {
    ns = await createNetns('imds');
    for (const a of V4) assert.ok(addAddress(ns, `${a}/32`), `cannot add ${a} to the namespace`);
    v6 = addAddress(ns, `${V6}/128`, true);
    // The driver reads the host's credentials from the real metadata address, as on EC2.
    world = await startWorld({ isolation: 'users', slots: 1, roles: DEPLOYER_ROLE, driverPrefix: ns.exec, imdsEndpoint: 'http://169.254.169.254' });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
    const aws = portOf(world.emu.endpoint);
    const imds = portOf(world.emu.imdsEndpoint);
    bridge = await bridgeIntoNetns(ns, [
      { host: '127.0.0.1', port: aws, targetPort: aws },
      ...V4.map((host) => ({ host, port: 80, targetPort: imds })),
      ...(v6 ? [{ host: V6, port: 80, targetPort: imds }] : []),
    ]);
  });

  after(async () => {
    await bridge?.close();
    await world?.close();
    await ns?.close();
  });

  test('host init put the block into the namespace the driver runs in', async () => {
    const r = await run(ns!.exec[0]!, [...ns!.exec.slice(1), 'nft', 'list', 'table', 'inet', world!.firewallTable]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`meta skuid ${jobUser(world!, 1).uid} ip daddr .*169\\.254\\.169\\.254.* reject`));
  });

  test('root and an unlisted uid reach the metadata service in the namespace (the setup is real)', async () => {
    const put = [
      '-s',
      '-m',
      '3',
      '-X',
      'PUT',
      '-H',
      'X-aws-ec2-metadata-token-ttl-seconds: 60',
      '-w',
      '\n%{http_code}',
      'http://169.254.169.254/latest/api/token',
    ];
    const root = await run(ns!.exec[0]!, [...ns!.exec.slice(1), CURL, ...put]);
    assert.equal(root.code, 0, root.stderr);
    assert.match(root.stdout, /\n200$/, 'root gets an IMDSv2 token');
    const token = root.stdout.split('\n')[0]!;
    const meta = await run(ns!.exec[0]!, [
      ...ns!.exec.slice(1),
      CURL,
      '-s',
      '-m',
      '3',
      '-H',
      `X-aws-ec2-metadata-token: ${token}`,
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    ]);
    assert.equal(meta.stdout.trim(), 'jobrole-host', 'root sees the instance profile role');
    const nobody = await run(ns!.exec[0]!, [...ns!.exec.slice(1), SETPRIV, ...asUser({ uid: 65534, gid: 65534 }), CURL, ...put]);
    assert.match(nobody.stdout, /\n200$/, 'a uid the table does not list is not blocked: the block is by uid');
  });

  test('the job user is refused at once on every metadata address and SDKs find no instance credentials', async () => {
    const w = world!;
    const targets = [...V4, ...(v6 ? [`[${V6}]`] : [])];
    const r = await w.job({
      response: buildJobResponse({ jobId: 7101, projectId: 5, projectPath: 'group/app', ref: 'main' }),
      variables: { JOBROLE_ROLE: 'deployer', EP: w.emu.endpoint },
      steps: {
        script: [
          // Try to take the block down first: no capabilities, so nft must refuse.
          `/usr/sbin/nft delete table inet ${w.firewallTable} >/dev/null 2>&1 && echo NFT-CHANGED || echo NFT-DENIED`,
          `for a in ${targets.join(' ')}; do s=$(date +%s%N); curl -s -m 3 -o /dev/null http://$a/latest/meta-data/ && echo "probe $a REACHED"; rc=$?; echo "probe $a rc=$rc ms=$(( ($(date +%s%N) - s) / 1000000 ))"; done`,
          `curl -s -m 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token || echo IMDS-BLOCKED`,
          `curl -s -m 3 http://169.254.169.254/latest/meta-data/iam/security-credentials/jobrole-host || echo IMDS-V1-BLOCKED`,
          // With the job's own endpoint taken away, botocore falls through to IMDS and must find nothing.
          `env -u AWS_CONTAINER_CREDENTIALS_FULL_URI -u AWS_CONTAINER_AUTHORIZATION_TOKEN ${DEBIAN_PYTHON} -c "import botocore.session as b; c=b.get_session().get_credentials(); print('boto-imds', None if c is None else c.method)"`,
          // The job's own role still works through the endpoint.
          `${DEBIAN_AWS} sts get-caller-identity --endpoint-url "$EP" --query Arn --output text`,
        ],
      },
    });
    assert.equal(r.status, 'success', r.jobLog);
    for (const a of targets) {
      const m = new RegExp(`^probe ${a.replace(/[[\].]/g, '\\$&')} rc=(\\d+) ms=(\\d+)$`, 'm').exec(r.jobLog);
      assert.ok(m !== null, `no probe line for ${a}:\n${r.jobLog}`);
      assert.equal(Number(m[1]), 7, `${a}: curl should fail to connect (rc 7), got rc ${m[1]}`);
      assert.ok(Number(m[2]) < 1500, `${a}: refused only after ${m[2]} ms (should be rejected at once, not time out)`);
      assert.doesNotMatch(r.jobLog, new RegExp(`probe ${a.replace(/[[\].]/g, '\\$&')} REACHED`));
    }
    assert.match(r.jobLog, /^NFT-DENIED$/m, 'the job user changed the firewall');
    assert.match(r.jobLog, /^IMDS-BLOCKED$/m);
    assert.match(r.jobLog, /^IMDS-V1-BLOCKED$/m);
    assert.match(r.jobLog, /^boto-imds None$/m, 'botocore found credentials without the endpoint');
    assert.match(r.jobLog, /^arn:aws:sts::111122223333:assumed-role\/deployer\/gitlab-5-7101$/m);

    // The driver (root, same namespace) did read the instance profile through 169.254.169.254: its AssumeRole
    // was signed with the instance-profile session IMDS handed out.
    const hostKeys = new Set(w.emu.sessions.filter((s) => s.kind === 'instance-profile').map((s) => s.accessKeyId));
    const assume = w.emu.calls.filter((c) => c.action === 'AssumeRole' && c.status === 200);
    assert.ok(
      assume.length > 0 && assume.every((c) => c.accessKeyId !== undefined && hostKeys.has(c.accessKeyId)),
      'AssumeRole was not signed with IMDS credentials',
    );
    const imdsCreds = w.emu.calls.filter((c) => c.service === 'imds');
    assert.ok(imdsCreds.length > 0, 'the driver never reached IMDS');
    assert.deepEqual(leaked(r.jobLog, issuedSecrets(w.emu)), [], "a secret (the host's or the job's) reached the job log");
  });
});
