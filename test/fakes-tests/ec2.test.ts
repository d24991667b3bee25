// EC2 instance-profile associations through the real EC2 client: states, error codes, PassRole, IMDS propagation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DisassociateIamInstanceProfileCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';
import { ec2, errorOf, sleep } from './helpers.js';

async function imdsRoleName(emu: AwsEmulator): Promise<{ status: number; body: string }> {
  const t = await (await fetch(`${emu.imdsEndpoint}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
  const res = await fetch(`${emu.imdsEndpoint}/latest/meta-data/iam/security-credentials/`, { headers: { 'x-aws-ec2-metadata-token': t } });
  return { status: res.status, body: await res.text() };
}

describe('EC2 emulator: instance profile associations', () => {
  let emu: AwsEmulator;
  let client: EC2Client;
  const jobProfile = 'arn:aws:iam::111122223333:instance-profile/job-a';
  const jobRole = 'arn:aws:iam::111122223333:role/job-a';
  const secretProfile = 'arn:aws:iam::111122223333:instance-profile/admin';

  before(async () => {
    emu = await startAwsEmulator({ imdsPropagationMs: 400, associationDelayMs: 150 });
    emu.setInstance({ profiles: { [jobProfile]: jobRole, [secretProfile]: 'arn:aws:iam::111122223333:role/admin' } });
    client = ec2(emu);
  });
  after(() => emu.stop());

  const describeFor = (states?: string[]) =>
    client.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [emu.instanceId] }, ...(states ? [{ Name: 'state', Values: states }] : [])],
      }),
    );

  test('describe shows the host profile associated', async () => {
    const r = await describeFor(['associated']);
    assert.equal(r.IamInstanceProfileAssociations?.length, 1);
    const a = r.IamInstanceProfileAssociations?.[0];
    assert.equal(a?.IamInstanceProfile?.Arn, emu.hostProfileArn);
    assert.equal(a?.InstanceId, emu.instanceId);
    assert.match(a?.AssociationId ?? '', /^iip-assoc-[0-9a-f]{17}$/);
    assert.ok(a?.Timestamp instanceof Date);
    assert.equal(
      (await client.send(new DescribeIamInstanceProfileAssociationsCommand({ Filters: [{ Name: 'instance-id', Values: ['i-00000000000000000'] }] })))
        .IamInstanceProfileAssociations?.length,
      0,
    );
  });

  test('associate while one exists is IncorrectState; an unknown association id is InvalidAssociationID.NotFound', async () => {
    const e = await errorOf(client.send(new AssociateIamInstanceProfileCommand({ InstanceId: emu.instanceId, IamInstanceProfile: { Arn: jobProfile } })));
    assert.equal(e.name, 'IncorrectState');
    const n = await errorOf(
      client.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: 'iip-assoc-00000000000000000', IamInstanceProfile: { Arn: jobProfile } })),
    );
    assert.equal(n.name, 'InvalidAssociationID.NotFound');
    const d = await errorOf(client.send(new DescribeIamInstanceProfileAssociationsCommand({ AssociationIds: ['iip-assoc-00000000000000000'] })));
    assert.equal(d.name, 'InvalidAssociationID.NotFound');
  });

  test('a profile the caller may not pass is UnauthorizedOperation (iam:PassRole)', async () => {
    emu.setPassRole(emu.host.arn, [jobRole, emu.hostRoleArn]);
    try {
      const [current] = (await describeFor(['associated'])).IamInstanceProfileAssociations ?? [];
      const e = await errorOf(
        client.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: current?.AssociationId, IamInstanceProfile: { Arn: secretProfile } })),
      );
      assert.equal(e.name, 'UnauthorizedOperation');
      assert.match(e.message, /not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role\/admin/);
      assert.equal(emu.imdsRoleArn(), emu.hostRoleArn, 'nothing changed');
    } finally {
      emu.setPassRole(emu.host.arn, '*');
    }
  });

  test('replace: new association associating → associated; IMDS serves the old role until the propagation delay has passed', async () => {
    const [current] = (await describeFor(['associated'])).IamInstanceProfileAssociations ?? [];
    const r = await client.send(
      new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: current?.AssociationId, IamInstanceProfile: { Arn: jobProfile } }),
    );
    const fresh = r.IamInstanceProfileAssociation;
    assert.equal(fresh?.State, 'associating');
    assert.notEqual(fresh?.AssociationId, current?.AssociationId);
    assert.equal((await imdsRoleName(emu)).body, 'jobrole-host', 'old role still served right after the swap');
    await sleep(200);
    const settled = await client.send(new DescribeIamInstanceProfileAssociationsCommand({ AssociationIds: [fresh?.AssociationId ?? ''] }));
    assert.equal(settled.IamInstanceProfileAssociations?.[0]?.State, 'associated');
    assert.equal((await describeFor(['associated'])).IamInstanceProfileAssociations?.length, 1);
    await sleep(250);
    assert.equal((await imdsRoleName(emu)).body, 'job-a');
    assert.equal(emu.imdsRoleArn(), jobRole);
  });

  test('disassociate, then associate again (by name); the propagation delay can change at run time', async () => {
    emu.imdsPropagationMs = 50;
    const [current] = (await describeFor(['associated'])).IamInstanceProfileAssociations ?? [];
    const d = await client.send(new DisassociateIamInstanceProfileCommand({ AssociationId: current?.AssociationId }));
    assert.equal(d.IamInstanceProfileAssociation?.State, 'disassociating');
    await sleep(200);
    assert.equal((await describeFor()).IamInstanceProfileAssociations?.length, 0);
    assert.equal((await imdsRoleName(emu)).status, 404);
    const a = await client.send(new AssociateIamInstanceProfileCommand({ InstanceId: emu.instanceId, IamInstanceProfile: { Name: 'jobrole-host' } }));
    assert.equal(a.IamInstanceProfileAssociation?.IamInstanceProfile?.Arn, emu.hostProfileArn);
    await sleep(200);
    assert.equal((await imdsRoleName(emu)).body, 'jobrole-host');
    const unknown = await errorOf(
      client.send(
        new ReplaceIamInstanceProfileAssociationCommand({
          AssociationId: a.IamInstanceProfileAssociation?.AssociationId,
          IamInstanceProfile: { Arn: 'arn:aws:iam::111122223333:instance-profile/nope' },
        }),
      ),
    );
    assert.equal(unknown.name, 'InvalidParameterValue');
  });
});
