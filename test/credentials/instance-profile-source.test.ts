// Tests the instance-profile session source the endpoint refreshes from: it asks IMDS for the job's role only.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { instanceProfileRefresh, instanceProfileSession, type InstanceProfileSourceSpec } from '../../src/credentials/instance-profile-source.js';
import { createImdsClient, type ImdsClient } from '../../src/aws/imds.js';
import { nodeHttpFetch } from '../../src/aws/http-fetch.js';

const SPEC: InstanceProfileSourceSpec = {
  strategy: 'instance-profile',
  imdsEndpoint: 'http://169.254.169.254',
  imdsRoleName: 'legacy-deploy',
  roleArn: 'arn:aws:iam::111122223333:role/ci/legacy-deploy',
  sessionName: 'i-0123456789abcdef0',
  assumedRoleArn: 'arn:aws:sts::111122223333:assumed-role/legacy-deploy/i-0123456789abcdef0',
};

describe('instance-profile session source', () => {
  test('reads the job role by name and labels the session with the job role', async () => {
    const asked: string[] = [];
    const expiration = new Date(Date.now() + 6 * 3600_000);
    const imds: ImdsClient = {
      instanceId: async () => 'i-0123456789abcdef0',
      region: async () => 'us-east-1',
      roleName: async () => 'jobrole-host',
      credentials: async (name) => {
        asked.push(name);
        return { accessKeyId: 'ASIAJOB', secretAccessKey: 's', sessionToken: 't', expiration };
      },
    };
    const s = await instanceProfileSession(SPEC, imds);
    assert.deepEqual(asked, ['legacy-deploy'], 'it must ask for the job role by name, whatever IMDS lists');
    assert.equal(s.roleArn, SPEC.roleArn);
    assert.equal(s.assumedRoleArn, SPEC.assumedRoleArn);
    assert.equal(s.credentials.accessKeyId, 'ASIAJOB');
  });

  test('over node:http against a metadata service that no longer serves the job role: fails, never another role', async () => {
    const server = createServer((req, res) => {
      if (req.method === 'PUT') return res.end('token-1');
      if (req.url === '/latest/meta-data/iam/security-credentials/jobrole-host') {
        return res.end(
          JSON.stringify({
            Code: 'Success',
            AccessKeyId: 'ASIAHOST',
            SecretAccessKey: 's',
            Token: 't',
            Expiration: new Date(Date.now() + 3600_000).toISOString(),
          }),
        );
      }
      res.statusCode = 404;
      res.end('Not Found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const imds = createImdsClient({ endpoint, fetch: nodeHttpFetch });
      await assert.rejects(instanceProfileSession({ ...SPEC, imdsEndpoint: endpoint }, imds), /serves no credentials for role legacy-deploy/);
      assert.equal((await imds.credentials('jobrole-host')).accessKeyId, 'ASIAHOST', 'the node:http fetch works (control)');
    } finally {
      server.close();
    }
  });

  test('the refresh plan polls at rotation_poll_interval and keeps the expiry margin', () => {
    assert.deepEqual(instanceProfileRefresh({ propagation_timeout: 120, poll_interval_ms: 1000, rotation_poll_interval: 60 }, 1200), {
      beforeSeconds: 1200,
      pollMs: 60_000,
    });
  });
});
