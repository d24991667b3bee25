// The AWS SDK for JavaScript and Debian's botocore obtain credentials from the endpoint through the job env.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { endpointJobEnv } from '../../src/delivery/endpoint.js';
import { startCredentialServer } from '../../src/broker/server.js';
import { fakeSession, fakeSource } from './fixtures/fake-source.js';

const TOKEN = 'sdk-test-token-6f1c0b1e2d3a4958a7b6c5d4e3f20110';
const HOUR = 3600_000;

async function withEndpoint(fn: (env: Record<string, string>, initial: ReturnType<typeof fakeSession>) => Promise<void>): Promise<void> {
  const initial = fakeSession(7, HOUR);
  const server = await startCredentialServer({
    token: TOKEN,
    allowedUids: [process.getuid!()],
    source: fakeSource(HOUR).source,
    initial,
    refreshBeforeSeconds: 900,
    deadline: new Date(Date.now() + HOUR),
  });
  try {
    await fn(endpointJobEnv(server.url, TOKEN), initial);
  } finally {
    await server.close();
  }
}

describe('SDK clients against the endpoint', () => {
  test('endpointJobEnv sets the full URI and the token variable, and refuses non-portable URLs', () => {
    assert.deepEqual(endpointJobEnv('http://127.0.0.1:4321/creds', 'tok'), {
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:4321/creds',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'tok',
    });
    assert.throws(() => endpointJobEnv('http://[::1]:4321/creds', 'tok'), /127\.0\.0\.1/);
    assert.throws(() => endpointJobEnv('http://127.0.0.1:4321/creds', 'a\nb'), /one line/);
  });

  test('@aws-sdk/credential-provider-http fromHttp reads the variables and gets the credentials', async () => {
    await withEndpoint(async (env, initial) => {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const creds = await fromHttp({})();
        assert.equal(creds.accessKeyId, initial.credentials.accessKeyId);
        assert.equal(creds.secretAccessKey, initial.credentials.secretAccessKey);
        assert.equal(creds.sessionToken, initial.credentials.sessionToken);
        assert.equal(creds.expiration?.getTime(), Math.floor(initial.credentials.expiration.getTime() / 1000) * 1000);
      } finally {
        for (const k of Object.keys(env)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    });
  });

  test("/usr/bin/python3 botocore's ContainerProvider gets the credentials", async () => {
    await withEndpoint(async (env, initial) => {
      const script = [
        'import json',
        'from botocore.credentials import ContainerProvider',
        'c = ContainerProvider().load().get_frozen_credentials()',
        'print(json.dumps([c.access_key, c.secret_key, c.token]))',
      ].join('\n');
      const out = await new Promise<string>((resolve, reject) =>
        execFile('/usr/bin/python3', ['-c', script], { env: { PATH: '/usr/bin:/bin', ...env }, timeout: 20_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      assert.deepEqual(JSON.parse(out), [initial.credentials.accessKeyId, initial.credentials.secretAccessKey, initial.credentials.sessionToken]);
    });
  });

  test('botocore with a wrong token gets no credentials', async () => {
    await withEndpoint(async (env, initial) => {
      const script =
        'from botocore.credentials import ContainerProvider\ntry:\n  ContainerProvider().load()\n  print("GOT")\nexcept Exception as e:\n  print("REFUSED", type(e).__name__)';
      const { stdout: out } = await promisify(execFile)('/usr/bin/python3', ['-c', script], {
        env: { PATH: '/usr/bin:/bin', ...env, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'guess' },
        timeout: 30_000,
      });
      assert.match(out, /^REFUSED/);
      assert.equal(out.includes(initial.credentials.secretAccessKey), false);
    });
  });
});
