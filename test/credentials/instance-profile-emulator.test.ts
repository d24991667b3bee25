// The instance-profile strategy against the local AWS emulator: real SDK clients, real IMDSv2 wire, propagation delays.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AwsSection } from '../../src/config/types.js';
import type { InstanceProfileUndo } from '../../src/state/types.js';
import type { AwsCredentials } from '../../src/core/credential-types.js';
import { ec2Client, imdsEndpoint, stsClient } from '../../src/aws/clients.js';
import { createImdsClient } from '../../src/aws/imds.js';
import { SystemFailure } from '../../src/core/exit-codes.js';
import {
  parseBaseline,
  prepareInstanceProfile,
  restoreInstanceProfile,
  restoreInstanceProfileAsOperator,
  RestoreFailed,
  type BaselineCredentials,
} from '../../src/credentials/instance-profile.js';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';

let emu: AwsEmulator;
let aws: AwsSection;
let jobRoleArn: string;
let jobProfileArn: string;

before(async () => {
  emu = await startAwsEmulator({ imdsPropagationMs: 400, associationDelayMs: 150 });
  aws = {
    region: emu.region,
    sts_endpoint: emu.endpoint,
    ec2_endpoint: emu.endpoint,
    ssm_endpoint: emu.endpoint,
    imds_endpoint: emu.imdsEndpoint,
    max_attempts: 1,
  };
  jobRoleArn = `arn:aws:iam::${emu.account}:role/ci/deploy`;
  jobProfileArn = `arn:aws:iam::${emu.account}:instance-profile/ci-deploy`;
  emu.addInstanceProfile(jobProfileArn, jobRoleArn);
});
after(async () => emu.stop());

function deps(persisted: Array<{ undo: InstanceProfileUndo; baseline: BaselineCredentials }>, log: string[]) {
  const imds = createImdsClient({ endpoint: imdsEndpoint(aws) });
  return {
    imds,
    ec2: (c: AwsCredentials) => ec2Client(aws, { credentials: c }),
    sts: (c: AwsCredentials) => stsClient(aws, { credentials: c }),
    settings: { propagation_timeout: 10, poll_interval_ms: 100 },
    persistUndo: async (undo: InstanceProfileUndo, baseline: BaselineCredentials) => {
      persisted.push(JSON.parse(JSON.stringify({ undo, baseline })) as { undo: InstanceProfileUndo; baseline: BaselineCredentials });
    },
    progress: (line: string) => log.push(line),
  };
}

const role = (profile: string) => ({
  name: 'deploy',
  arn: jobRoleArn,
  strategy: 'instance-profile' as const,
  instance_profile: profile,
  max_duration: 3600,
  session_policy: '',
  policy_arns: [],
  allow: {},
});

describe('instance-profile strategy on the emulator', () => {
  test('swap, IMDS serves the job role, then a restore from the persisted records alone', async () => {
    const persisted: Array<{ undo: InstanceProfileUndo; baseline: BaselineCredentials }> = [];
    const log: string[] = [];
    const result = await prepareInstanceProfile(role('ci-deploy'), deps(persisted, log));

    assert.equal(emu.imdsRoleArn(), jobRoleArn);
    assert.equal(emu.associations().find((a) => a.state === 'associated')?.profileArn, jobProfileArn);
    assert.match(result.session.assumedRoleArn ?? '', new RegExp(`^arn:aws:sts::${emu.account}:assumed-role/deploy/`));
    assert.equal(result.baseline.roleName, 'jobrole-host');
    assert.ok(log.some((l) => l.startsWith('jobrole: confirmed')));

    // A later process (cleanup) has only what was persisted.
    const last = persisted.at(-1);
    assert.ok(last !== undefined);
    assert.equal(last.undo.jobAssociationId, result.undo.jobAssociationId);
    const d = deps([], []);
    await restoreInstanceProfile(last.undo, {
      baseline: parseBaseline(last.baseline),
      ec2: (c) => ec2Client(aws, c === undefined ? {} : { credentials: c }),
      imds: d.imds,
      pollIntervalMs: 100,
      timeoutMs: 10_000,
    });
    assert.deepEqual(
      emu.associations().map((a) => [a.profileArn, a.state]),
      [[emu.hostProfileArn, 'associated']],
    );
    assert.equal(emu.imdsRoleArn(), emu.hostRoleArn);
  });

  test('iam:PassRole denied: nothing changes, the job fails as a system failure', async () => {
    emu.setPassRole(emu.hostRoleArn, [emu.hostRoleArn]);
    try {
      await assert.rejects(prepareInstanceProfile(role(jobProfileArn), deps([], [])), (err: Error) => {
        assert.ok(err instanceof SystemFailure && !(err instanceof RestoreFailed));
        assert.match(err.message, /UnauthorizedOperation/);
        return true;
      });
      assert.equal(emu.imdsRoleArn(), emu.hostRoleArn);
    } finally {
      emu.setPassRole(emu.hostRoleArn, '*');
    }
  });

  test('expired baseline credentials: RestoreFailed, then an operator restore with fresh credentials', async () => {
    const persisted: Array<{ undo: InstanceProfileUndo; baseline: BaselineCredentials }> = [];
    const result = await prepareInstanceProfile(role('ci-deploy'), deps(persisted, []));
    emu.expire(result.baseline.accessKeyId);

    const ec2 = (c: AwsCredentials | undefined) => ec2Client(aws, c === undefined ? {} : { credentials: c });
    await assert.rejects(
      restoreInstanceProfile(result.undo, { baseline: result.baseline, ec2, pollIntervalMs: 100, timeoutMs: 5_000 }),
      (err: Error) => err instanceof RestoreFailed && err.reason === 'credentials-expired',
    );
    assert.equal(emu.imdsRoleArn(), jobRoleArn, 'still swapped');

    const operator = {
      accessKeyId: emu.host.accessKeyId,
      secretAccessKey: emu.host.secretAccessKey,
      sessionToken: '',
      expiration: new Date(Date.now() + 3600_000),
    };
    const d = deps([], []);
    await restoreInstanceProfileAsOperator(result.undo, {
      ec2,
      credentials: operator,
      baselineRoleName: 'jobrole-host',
      imds: d.imds,
      pollIntervalMs: 100,
      timeoutMs: 10_000,
    });
    assert.equal(emu.imdsRoleArn(), emu.hostRoleArn);
    // Idempotent: again with the same records changes nothing.
    const before = emu.calls.filter((c) => c.action === 'ReplaceIamInstanceProfileAssociation').length;
    await restoreInstanceProfileAsOperator(result.undo, { ec2, credentials: operator, pollIntervalMs: 100 });
    assert.equal(emu.calls.filter((c) => c.action === 'ReplaceIamInstanceProfileAssociation').length, before);
  });
});
