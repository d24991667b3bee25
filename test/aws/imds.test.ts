// The driver's IMDSv2 client: token handshake, paths, 404 = no role, token renewal on 401, parsing and errors.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createImdsClient, ImdsError, type FetchLike } from '../../src/aws/imds.js';

const CREDS = {
  Code: 'Success',
  LastUpdated: '2030-01-01T00:00:00Z',
  Type: 'AWS-HMAC',
  AccessKeyId: 'ASIAEXAMPLEEXAMPLE00',
  SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  Token: 'IQoJb3JpZ2luX2VjEXAMPLE',
  Expiration: '2030-01-01T06:00:00Z',
};

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/** A fake metadata service: routes by path, issues tokens, optionally expires the first one. */
function fakeImds(routes: Record<string, () => { status: number; body: string }>, opts: { expireFirstToken?: boolean } = {}) {
  const seen: Seen[] = [];
  let tokens = 0;
  const valid = new Set<string>();
  const fetch: FetchLike = async (url, init) => {
    const path = new URL(url).pathname;
    seen.push({ method: init.method, path, headers: init.headers });
    const reply = (status: number, body: string) => ({ status, text: async () => body });
    if (path === '/latest/api/token') {
      if (init.method !== 'PUT' || init.headers['X-aws-ec2-metadata-token-ttl-seconds'] === undefined) return reply(400, '');
      const t = `token-${++tokens}`;
      if (!(opts.expireFirstToken && tokens === 1)) valid.add(t);
      return reply(200, t);
    }
    if (!valid.has(init.headers['X-aws-ec2-metadata-token'] ?? '')) return reply(401, '');
    const route = routes[path];
    if (route === undefined) return reply(404, '<html>Not Found</html>');
    const r = route();
    return reply(r.status, r.body);
  };
  return { fetch, seen };
}

const ok = (body: string) => () => ({ status: 200, body });

describe('createImdsClient', () => {
  test('reads instance id, region, role name and credentials with one session token', async () => {
    const f = fakeImds({
      '/latest/meta-data/instance-id': ok('i-0123456789abcdef0'),
      '/latest/dynamic/instance-identity/document': ok(JSON.stringify({ region: 'eu-west-1', instanceId: 'i-0123456789abcdef0' })),
      '/latest/meta-data/iam/security-credentials/': ok('host-role'),
      '/latest/meta-data/iam/security-credentials/host-role': ok(JSON.stringify(CREDS)),
    });
    const imds = createImdsClient({ endpoint: 'http://169.254.169.254/', fetch: f.fetch });
    assert.equal(await imds.instanceId(), 'i-0123456789abcdef0');
    assert.equal(await imds.region(), 'eu-west-1');
    assert.equal(await imds.roleName(), 'host-role');
    assert.deepEqual(await imds.credentials('host-role'), {
      accessKeyId: CREDS.AccessKeyId,
      secretAccessKey: CREDS.SecretAccessKey,
      sessionToken: CREDS.Token,
      expiration: new Date(CREDS.Expiration),
    });
    const puts = f.seen.filter((s) => s.method === 'PUT');
    assert.equal(puts.length, 1, 'the token is reused');
    assert.equal(puts[0]?.headers['X-aws-ec2-metadata-token-ttl-seconds'], '21600');
    assert.ok(f.seen.filter((s) => s.method === 'GET').every((s) => s.headers['X-aws-ec2-metadata-token'] === 'token-1'));
  });

  test('an instance without a profile: roleName() is undefined (404), not an error', async () => {
    const f = fakeImds({});
    const imds = createImdsClient({ endpoint: 'http://169.254.169.254', fetch: f.fetch });
    assert.equal(await imds.roleName(), undefined);
    await assert.rejects(imds.credentials('host-role'), (err: Error) => err instanceof ImdsError && err.status === 404);
  });

  test('a token the service no longer accepts (401) is renewed once', async () => {
    const f = fakeImds({ '/latest/meta-data/instance-id': ok('i-1') }, { expireFirstToken: true });
    const imds = createImdsClient({ endpoint: 'http://169.254.169.254', fetch: f.fetch });
    assert.equal(await imds.instanceId(), 'i-1');
    assert.equal(f.seen.filter((s) => s.method === 'PUT').length, 2);
  });

  test('the token is renewed after half its lifetime', async () => {
    let now = 0;
    const f = fakeImds({ '/latest/meta-data/instance-id': ok('i-1') });
    const imds = createImdsClient({ endpoint: 'http://x', fetch: f.fetch, tokenTtlSeconds: 60, now: () => now });
    await imds.instanceId();
    now = 29_000;
    await imds.instanceId();
    now = 31_000;
    await imds.instanceId();
    assert.equal(f.seen.filter((s) => s.method === 'PUT').length, 2);
  });

  test('a credentials document that is not Success, or lacks a field, is an ImdsError without secrets', async () => {
    const f = fakeImds({
      '/latest/meta-data/iam/security-credentials/a': ok(JSON.stringify({ ...CREDS, Code: 'AssumeRoleUnauthorizedAccess' })),
      '/latest/meta-data/iam/security-credentials/b': ok(JSON.stringify({ ...CREDS, Token: undefined })),
      '/latest/meta-data/iam/security-credentials/c': ok('{not json'),
    });
    const imds = createImdsClient({ endpoint: 'http://x', fetch: f.fetch });
    await assert.rejects(imds.credentials('a'), /AssumeRoleUnauthorizedAccess/);
    for (const role of ['a', 'b', 'c']) {
      await assert.rejects(imds.credentials(role), (err: Error) => {
        assert.ok(err instanceof ImdsError);
        assert.ok(!err.message.includes(CREDS.SecretAccessKey) && !err.message.includes(CREDS.AccessKeyId));
        return true;
      });
    }
  });

  test('an unreachable service and a refused token are ImdsErrors naming the endpoint or status', async () => {
    const down: FetchLike = async () => {
      throw new TypeError('fetch failed');
    };
    await assert.rejects(createImdsClient({ endpoint: 'http://127.0.0.1:9', fetch: down }).instanceId(), /did not answer PUT \/latest\/api\/token/);
    const refusing: FetchLike = async () => ({ status: 403, text: async () => '' });
    await assert.rejects(
      createImdsClient({ endpoint: 'http://x', fetch: refusing }).instanceId(),
      (err: Error) => err instanceof ImdsError && err.status === 403,
    );
    const noRegion = fakeImds({ '/latest/dynamic/instance-identity/document': ok('{}') });
    await assert.rejects(createImdsClient({ endpoint: 'http://x', fetch: noRegion.fetch }).region(), /no region/);
  });

  test('works over real HTTP with the global fetch', async () => {
    const server = createServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('real-token');
      if (req.headers['x-aws-ec2-metadata-token'] !== 'real-token') return void res.writeHead(401).end();
      if (req.url === '/latest/meta-data/iam/security-credentials/') return void res.end('web-role\n');
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const imds = createImdsClient({ endpoint: `http://127.0.0.1:${port}` });
      assert.equal(await imds.roleName(), 'web-role');
      await assert.rejects(imds.instanceId(), (err: Error) => err instanceof ImdsError && err.status === 404);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
