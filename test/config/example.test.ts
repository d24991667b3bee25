// config.example.toml: parses and validates, shows the defaults, and documents every key the schema has.

import { authorControlledWarnings } from '../../src/policy/author-controlled.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/schema.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const exampleText = readFileSync(`${root}config.example.toml`, 'utf8');
const typesText = readFileSync(`${root}src/config/types.ts`, 'utf8');

/** Property names declared in one interface of types.ts. */
function interfaceKeys(name: string): string[] {
  const m = new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`).exec(typesText);
  assert.ok(m, `interface ${name} in types.ts`);
  return [...(m[1] ?? '').matchAll(/^\s+([a-z_]+)\??:/gm)].map((x) => x[1] as string);
}

/** Keys the example shows, set or commented out ("# key = ..."). */
const documented = new Set([...exampleText.matchAll(/^\s*#?\s*([a-z_]+)\s*=/gm)].map((x) => x[1] as string));

test('config.example.toml parses and validates', () => {
  const c = parseConfigText(exampleText, 'config.example.toml');
  assert.equal(c.roles.length, 1);
  assert.equal(c.roles[0]?.name, 'deploy-prod');
  assert.equal(c.roles[0]?.max_duration, 3600);
});

test('config.example.toml shows the real defaults of every section', () => {
  const example = parseConfigText(exampleText, 'x');
  const defaults = validateConfig({}, 'x');
  for (const section of ['driver', 'aws', 'job', 'gitlab', 'instance_profile', 'policy'] as const) {
    assert.deepEqual(example[section], defaults[section], `[${section}] in the example differs from the defaults`);
  }
});

test('every section key is set in the example, not only mentioned', () => {
  const doc = parse(exampleText) as Record<string, Record<string, unknown>>;
  const sections = {
    driver: 'DriverSection',
    aws: 'AwsSection',
    job: 'JobSection',
    gitlab: 'GitlabSection',
    instance_profile: 'InstanceProfileSection',
    policy: 'PolicySection',
  };
  for (const [section, iface] of Object.entries(sections)) {
    for (const key of interfaceKeys(iface)) assert.ok(doc[section] && key in doc[section], `[${section}].${key} missing from config.example.toml`);
  }
});

test('every role key and allow condition in types.ts appears in the example', () => {
  const keys = [...interfaceKeys('RoleConfig').filter((k) => k !== 'allow'), ...interfaceKeys('AllowConditions')];
  assert.ok(keys.includes('delivery') && keys.includes('user_logins'), 'sanity: the interface parser found optional keys');
  for (const key of keys) assert.ok(documented.has(key), `${key} missing from config.example.toml`);
  assert.ok(/^\s*\[roles\.allow\]/m.test(exampleText));
});

test('config.example.toml grants nothing by a ref glob (or an author-chosen condition) without protected = true', () => {
  const c = parseConfigText(exampleText, 'config.example.toml');
  for (const role of c.roles) {
    if (role.allow.refs !== undefined || role.allow.ref_types !== undefined) assert.equal(role.allow.protected, true, `role ${role.name}`);
  }
  assert.deepEqual(authorControlledWarnings(c.roles), []);
});

test('the commented [serve] section documents every ServeSection key with its default', () => {
  const block = /^# \[serve\]\n((?:# .*\n)+)/m.exec(exampleText);
  assert.ok(block, 'a commented [serve] section');
  const uncommented = (block[1] ?? '')
    .split('\n')
    .map((l) => l.replace(/^# ?/, ''))
    .join('\n');
  const c = parseConfigText(`[serve]\n${uncommented}`, 'serve example');
  assert.deepEqual(c.serve, validateConfig({ serve: {} }, 'x').serve);
  for (const key of interfaceKeys('ServeSection'))
    assert.ok(new RegExp(`^${key}\\s*=`, 'm').test(uncommented), `[serve].${key} missing from config.example.toml`);
});
