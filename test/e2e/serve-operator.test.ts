// Operator commands on a jobrole serve config: doctor --serve (listen, TLS pair, issuer) and explain --id-token (token alone).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './world.js';
import { runClient, startServeWorld, type ServeWorld } from './serve-world.js';
import { MAIN_DEPLOYER_ROLE } from '../harness/roles.js';

const ROLES = `${MAIN_DEPLOYER_ROLE}
[[roles]]
name = "review"
arn = "arn:aws:iam::111122223333:role/review"
  [roles.allow]
  projects = ["group/app"]
  pipeline_sources = ["merge_request_event"]
`;

describe('doctor --serve and explain --id-token on a broker config', () => {
  let world: ServeWorld;
  const cli = (args: string[], config = world.configPath) =>
    runClient(process.execPath, [CLI, '--config', config, ...args], { PATH: '/usr/bin:/bin', HOME: world.dir }, 30_000);
  before(async () => {
    world = await startServeWorld({ roles: ROLES, tls: true });
  });
  after(() => world.close());

  test('doctor --serve passes a good config: listen, TLS pair, issuer reachable; no driver host checks', async () => {
    const r = await cli(['doctor', '--serve']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS jobrole serve: audience "https:\/\/jobrole\.test\/broker"/m);
    assert.match(r.stdout, /^PASS \[serve\]\.listen 127\.0\.0\.1:0: free, served as HTTPS/m);
    assert.match(r.stdout, /^PASS TLS certificate .*CN=localhost server for localhost, 127\.0\.0\.1, key matches/m);
    assert.match(r.stdout, /^PASS issuer http:\/\/127\.0\.0\.1:\d+ reachable: 1 signing key/m);
    assert.doesNotMatch(r.stdout, /job user|nftables|firewall/i);
  });

  test('doctor --serve fails a key that does not match, and an unreachable issuer, naming what to fix', async () => {
    const bad = join(world.dir, 'bad.toml');
    const wrongKey = join(world.dir, 'other.key');
    writeFileSync(wrongKey, readFileSync(join(world.dir, 'ca.key')));
    writeFileSync(
      bad,
      readFileSync(world.configPath, 'utf8')
        .replace(/tls_key = ".*"/, `tls_key = "${wrongKey}"`)
        .replace(/^url = ".*"$/m, 'url = "http://127.0.0.1:9"'),
      { mode: 0o600 },
    );
    const r = await cli(['doctor', '--serve'], bad);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /^FAIL \[serve\]\.tls_key = ".*other\.key" does not belong to the certificate/m);
    assert.match(r.stdout, /^FAIL issuer http:\/\/127\.0\.0\.1:9: Cannot fetch GitLab's OIDC discovery document/m);
  });

  test('explain --id-token without --response judges every role from the token alone', async () => {
    const push = await world.token({ jobId: 801, projectId: 77 });
    const ok = await cli(['explain', '--id-token', push, '--role', 'deployer']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ID token: verified/);
    assert.match(ok.stdout, /project\s+"group\/app"\s+\[id-token project_path\]/);
    assert.match(ok.stdout, /deployer \(.*\): would allow {3}<- requested/);
    assert.match(ok.stdout, /Decision: ALLOW \(200\): "deployer" .* session gitlab-77-801, 3[56]\d\d s/);

    const mr = await world.token({ jobId: 802, projectId: 77 }, { pipeline_source: 'merge_request_event' });
    const tokenFile = join(world.dir, 'mr.jwt');
    writeFileSync(tokenFile, mr, { mode: 0o600 });
    const refused = await cli(['explain', '--id-token', tokenFile, '--role', 'deployer']);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /FAILED refs: a merge-request pipeline/);
    assert.match(refused.stdout, /review \(.*\): would allow/);
    assert.match(refused.stdout, /Decision: DENY \(403\): role "deployer" is refused/);

    const wrongAud = await world.token({ jobId: 803, projectId: 77 }, { aud: 'https://jobrole.test/aud' });
    const rejected = await cli(['explain', '--id-token', wrongAud, '--role', 'deployer']);
    assert.equal(rejected.code, 1);
    assert.match(rejected.stdout, /ID token: REJECTED \(the broker answers 401\): .*audience/);
    for (const out of [ok, refused, rejected])
      for (const t of [push, mr, wrongAud]) assert.ok(!(out.stdout + out.stderr).includes(t), 'explain printed a token');
  });
});
