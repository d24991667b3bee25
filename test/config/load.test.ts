// parseConfigText / loadConfig / configPath: every problem becomes one SystemFailure line naming the file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_PATH, configPath, loadConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/fields.js';
import { SystemFailure } from '../../src/core/exit-codes.js';

function systemFailure(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SystemFailure, `expected SystemFailure, got ${String(err)}`);
    for (const p of parts) assert.ok(err.message.includes(p), `message ${JSON.stringify(err.message)} should include ${JSON.stringify(p)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

test('configPath: --config, else $JOBROLE_CONFIG, else the default', () => {
  assert.equal(configPath('/a.toml', { JOBROLE_CONFIG: '/b.toml' }), '/a.toml');
  assert.equal(configPath(undefined, { JOBROLE_CONFIG: '/b.toml' }), '/b.toml');
  assert.equal(configPath('', { JOBROLE_CONFIG: '/b.toml' }), '/b.toml');
  assert.equal(configPath(undefined, { JOBROLE_CONFIG: '' }), DEFAULT_CONFIG_PATH);
  assert.equal(configPath(undefined, {}), '/etc/jobrole/config.toml');
});

test('parseConfigText: valid TOML validated, source recorded', () => {
  const c = parseConfigText('[driver]\nslots = 2\n[[roles]]\nname = "r"\narn = "arn:aws:iam::111122223333:role/r"\nmax_duration = "30m"\n', '/etc/x.toml');
  assert.equal(c.source, '/etc/x.toml');
  assert.equal(c.driver.slots, 2);
  assert.equal(c.roles[0]?.max_duration, 1800);
});

test('parseConfigText: bad TOML names file, line and column and keeps the cause', () => {
  assert.throws(
    () => parseConfigText('[driver]\nslots = = 2\n', '/etc/x.toml'),
    (err: unknown) => {
      assert.ok(err instanceof SystemFailure);
      assert.match(err.message, /^config \/etc\/x\.toml: not valid TOML at line 2, column \d+: /);
      assert.ok(!err.message.includes('Invalid TOML document'));
      assert.ok(!err.message.includes('\n'));
      assert.ok(err.cause !== undefined);
      return true;
    },
  );
  systemFailure(() => parseConfigText('a = 99999999999999999999\n', 'c.toml'), 'config c.toml: not valid TOML at line 1');
});

test('parseConfigText: schema errors become SystemFailure naming file and key, with the ConfigError as cause', () => {
  assert.throws(
    () => parseConfigText('[job]\ndelivery = "carrier-pigeon"\n', '/etc/x.toml'),
    (err: unknown) => {
      assert.ok(err instanceof SystemFailure);
      assert.equal(err.message, 'config /etc/x.toml: [job].delivery = "carrier-pigeon": expected one of "endpoint", "env", "file", "web-identity-file"');
      assert.ok(err.cause instanceof ConfigError);
      return true;
    },
  );
  systemFailure(() => parseConfigText('[driver]\nstate_dir = 1979-05-27\n', 'c.toml'), '[driver].state_dir = "1979-05-27"', 'an absolute path');
});

test('loadConfig: reads a file; a missing file says how to point at one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-load-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.toml');
  await writeFile(file, '[aws]\nregion = "eu-west-1"\n');
  assert.equal((await loadConfig(file)).aws.region, 'eu-west-1');
  const missing = join(dir, 'nope.toml');
  await assert.rejects(loadConfig(missing), (err: unknown) => {
    assert.ok(err instanceof SystemFailure);
    assert.ok(err.message.startsWith(`config ${missing} does not exist: `));
    assert.ok(err.message.includes('--config <path>') && err.message.includes('JOBROLE_CONFIG') && err.message.includes(DEFAULT_CONFIG_PATH));
    return true;
  });
  const aDir = join(dir, 'sub');
  await mkdir(aDir);
  await assert.rejects(loadConfig(aDir), (err: unknown) => err instanceof SystemFailure && err.message.includes('cannot be read (EISDIR)'));
});
