// Central policy from SSM: fetch, TTL cache, stale fallback, broken parameters, merge and cross-key rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { GetParameterCommand, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { parseConfigText } from '../../src/config/load.js';
import { withCentralPolicy } from '../../src/policy/central.js';
import { centralCachePath } from '../../src/policy/central-cache.js';
import { SystemFailure } from '../../src/core/exit-codes.js';

const PARAM = '/jobrole/roles';
const LOCAL = `
[gitlab]
url = ""
[policy]
ssm_parameter = "${PARAM}"
cache_ttl = "5m"
[[roles]]
name = "local-only"
arn = "arn:aws:iam::111122223333:role/local-only"
[[roles]]
name = "shared"
arn = "arn:aws:iam::111122223333:role/shared-local"
`;
const CENTRAL = `
default_role = "readonly"
[[roles]]
name = "readonly"
arn = "arn:aws:iam::111122223333:role/readonly"
  [roles.allow]
  projects = ["group/*"]
[[roles]]
name = "shared"
arn = "arn:aws:iam::111122223333:role/shared-central"
`;

function ssmError(name: string, status: number): SSMServiceException {
  return new SSMServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} happened` });
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, configText = LOCAL) {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-central-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const client = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
  const mock = mockClient(client);
  const warnings: string[] = [];
  let clock = new Date('2030-01-01T00:00:00Z');
  let clientsMade = 0;
  const cacheDir = join(dir, 'cache');
  const deps = {
    ssm: async () => {
      clientsMade++;
      return client;
    },
    cacheDir,
    now: () => clock,
    warn: (m: string) => {
      warnings.push(m);
    },
  };
  return {
    config: parseConfigText(configText, '/etc/jobrole/config.toml'),
    mock,
    warnings,
    deps,
    cacheDir,
    advance: (seconds: number) => {
      clock = new Date(clock.getTime() + seconds * 1000);
    },
    clientsMade: () => clientsMade,
  };
}

const names = (c: { roles: { name: string }[] }) => c.roles.map((r) => r.name).sort();

test('no ssm_parameter: config returned unchanged, SSM and disk untouched', async (t) => {
  const s = await setup(t, '[[roles]]\nname = "a"\narn = "arn:aws:iam::111122223333:role/a"\n');
  const out = await withCentralPolicy(s.config, s.deps);
  assert.equal(out, s.config);
  assert.equal(s.clientsMade(), 0);
  await assert.rejects(stat(s.cacheDir), { code: 'ENOENT' });
});

test('fresh fetch: roles merged, central replaces the local role of the same name, cache written 0600 in 0700', async (t) => {
  const s = await setup(t);
  s.mock.on(GetParameterCommand).resolves({ Parameter: { Name: PARAM, Type: 'String', Value: CENTRAL, Version: 3 } });
  const out = await withCentralPolicy(s.config, s.deps);
  assert.deepEqual(names(out), ['local-only', 'readonly', 'shared']);
  assert.equal(out.roles.find((r) => r.name === 'shared')?.arn, 'arn:aws:iam::111122223333:role/shared-central');
  assert.equal(out.job.default_role, 'readonly');
  assert.deepEqual(out.roles.find((r) => r.name === 'readonly')?.allow, { projects: ['group/*'] });
  const calls = s.mock.commandCalls(GetParameterCommand);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]?.args[0].input, { Name: PARAM, WithDecryption: true });
  assert.equal(s.warnings.length, 1, s.warnings.join('\n'));
  assert.match(s.warnings[0] ?? '', /"shared" .*replaced by the central definition/);
  assert.equal((await stat(centralCachePath(s.cacheDir))).mode & 0o777, 0o600);
  assert.equal((await stat(s.cacheDir)).mode & 0o777, 0o700);
  assert.equal(s.config.roles.length, 2, 'the input config is not mutated');
});

test('SecureString is read with decryption', async (t) => {
  const s = await setup(t);
  s.mock
    .on(GetParameterCommand, { Name: PARAM, WithDecryption: true })
    .resolves({ Parameter: { Name: PARAM, Type: 'SecureString', Value: CENTRAL, Version: 1 } });
  const out = await withCentralPolicy(s.config, s.deps);
  assert.ok(out.roles.some((r) => r.name === 'readonly'));
});

test('within cache_ttl the cache is used without calling SSM; past it SSM is asked again', async (t) => {
  const s = await setup(t);
  s.mock.on(GetParameterCommand).resolves({ Parameter: { Type: 'String', Value: CENTRAL, Version: 1 } });
  await withCentralPolicy(s.config, s.deps);
  s.advance(240);
  s.mock.resetHistory();
  const second = await withCentralPolicy(s.config, s.deps);
  assert.equal(s.mock.commandCalls(GetParameterCommand).length, 0);
  assert.equal(s.clientsMade(), 1, 'no SSM client is even built on a cache hit');
  assert.deepEqual(names(second), ['local-only', 'readonly', 'shared']);
  s.advance(120);
  await withCentralPolicy(s.config, s.deps);
  assert.equal(s.mock.commandCalls(GetParameterCommand).length, 1);
});

test('stale cache is used with a warning giving its age while SSM fails', async (t) => {
  for (const err of [ssmError('ThrottlingException', 400), ssmError('AccessDeniedException', 400), ssmError('InternalServerError', 500)]) {
    const s = await setup(t);
    s.mock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Type: 'String', Value: CENTRAL, Version: 7 } })
      .rejects(err);
    await withCentralPolicy(s.config, s.deps);
    s.advance(3600 + 120);
    s.warnings.length = 0;
    const out = await withCentralPolicy(s.config, s.deps);
    assert.deepEqual(names(out), ['local-only', 'readonly', 'shared']);
    const w = s.warnings.find((m) => m.includes('cannot be read'));
    assert.ok(w, s.warnings.join('\n'));
    assert.match(w, new RegExp(err.name));
    assert.match(w, /version 7/);
    assert.match(w, /1h2m ago/);
    assert.match(w, /\/jobrole\/roles/);
  }
});

test('no cache and SSM down: SystemFailure naming the parameter', async (t) => {
  const s = await setup(t);
  s.mock.on(GetParameterCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
  const err = await withCentralPolicy(s.config, s.deps).then(
    () => assert.fail('expected failure'),
    (e: Error) => e,
  );
  assert.ok(err instanceof SystemFailure);
  assert.match(err.message, /SSM parameter \/jobrole\/roles/);
  assert.match(err.message, /no cached copy/);
  assert.match(err.message, /ECONNREFUSED/);
});

test('a broken parameter with no good cache: SystemFailure naming the parameter and the key', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['[driver]\nslots = 9\n', /driver: not allowed in the central policy/],
    ['[[roles]]\nname = "x"\narn = "not-an-arn"\n', /\[\[roles\]\] "x"\.arn = "not-an-arn": expected an IAM role ARN/],
    ['[[roles]\n', /not valid TOML at line 1/],
    ['default_role = "missing"\n', /default_role = "missing": no \[\[roles\]\] entry/],
  ];
  for (const [text, want] of cases) {
    const s = await setup(t);
    s.mock.on(GetParameterCommand).resolves({ Parameter: { Type: 'String', Value: text, Version: 2 } });
    const err = await withCentralPolicy(s.config, s.deps).then(
      () => assert.fail(`expected failure for ${text}`),
      (e: Error) => e,
    );
    assert.ok(err instanceof SystemFailure);
    assert.match(err.message, /SSM parameter \/jobrole\/roles\), version 2,/);
    assert.match(err.message, want);
    await assert.rejects(stat(centralCachePath(s.cacheDir)), { code: 'ENOENT' }, 'a broken value is never cached');
  }
});

test('a parameter that breaks later: the last good copy is kept, loudly, and the cache is not overwritten', async (t) => {
  const s = await setup(t);
  s.mock
    .on(GetParameterCommand)
    .resolvesOnce({ Parameter: { Type: 'String', Value: CENTRAL, Version: 1 } })
    .resolves({ Parameter: { Type: 'String', Value: 'roles = "oops"\n', Version: 2 } });
  await withCentralPolicy(s.config, s.deps);
  const before = await readFile(centralCachePath(s.cacheDir), 'utf8');
  s.advance(600);
  const out = await withCentralPolicy(s.config, s.deps);
  assert.deepEqual(names(out), ['local-only', 'readonly', 'shared']);
  assert.ok(
    s.warnings.some((w) => /version 2, is unusable: roles: expected \[\[roles\]\].*last good copy \(version 1\)/.test(w)),
    s.warnings.join('\n'),
  );
  assert.equal(await readFile(centralCachePath(s.cacheDir), 'utf8'), before);
});

test('a merged config that breaks a cross-key rule is a SystemFailure naming the parameter', async (t) => {
  const s = await setup(t);
  const envRole = '[[roles]]\nname = "deploy"\narn = "arn:aws:iam::111122223333:role/deploy"\n  [roles.allow]\n  environments = ["production"]\n';
  s.mock.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: envRole, Version: 4 } });
  const err = await withCentralPolicy(s.config, s.deps).then(
    () => assert.fail('expected failure'),
    (e: Error) => e,
  );
  assert.ok(err instanceof SystemFailure);
  assert.match(err.message, /SSM parameter \/jobrole\/roles/);
  assert.match(err.message, /"deploy"\.allow\.environments: needs a verified GitLab ID token/);
});

test('a damaged cache file is ignored with a warning and SSM is asked', async (t) => {
  const s = await setup(t);
  s.mock.on(GetParameterCommand).resolves({ Parameter: { Type: 'String', Value: CENTRAL, Version: 1 } });
  await withCentralPolicy(s.config, s.deps);
  await writeFile(centralCachePath(s.cacheDir), '{not json');
  s.mock.resetHistory();
  await withCentralPolicy(s.config, s.deps);
  assert.equal(s.mock.commandCalls(GetParameterCommand).length, 1);
  assert.ok(s.warnings.some((w) => /damaged/.test(w)));
});
