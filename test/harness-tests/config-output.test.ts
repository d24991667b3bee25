// Proves config_exec output is accepted only as one JSON object with non-empty builds_dir and cache_dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigOutput } from '../harness/config-output.js';

const good = { builds_dir: '/b', cache_dir: '/c', job_env: { A: '1' }, driver: { name: 'd', version: '1' }, builds_dir_is_shared: true };

test('one JSON document is accepted, with its fields', () => {
  const r = parseConfigOutput(`${JSON.stringify(good)}\n`);
  assert.ok(r.ok);
  assert.deepEqual(r.config.jobEnv, { A: '1' });
  assert.equal(r.config.buildsDirIsShared, true);
  assert.equal(r.config.driverName, 'd');
});

test('a log line, two documents, empty output or a non-object fail', () => {
  for (const out of [`starting\n${JSON.stringify(good)}`, `${JSON.stringify(good)}\n${JSON.stringify(good)}`, '', '[1]', 'null']) {
    assert.equal(parseConfigOutput(out).ok, false, JSON.stringify(out));
  }
});

test('builds_dir and cache_dir must be non-empty; job_env values must be strings', () => {
  assert.equal(parseConfigOutput(JSON.stringify({ cache_dir: '/c' })).ok, false);
  assert.equal(parseConfigOutput(JSON.stringify({ builds_dir: '/b', cache_dir: '' })).ok, false);
  assert.equal(parseConfigOutput(JSON.stringify({ ...good, job_env: { A: 1 } })).ok, false);
});
