// authorControlledWarnings: one line per role that grants on job-author-chosen facts without a protection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorControlledWarnings } from '../../src/policy/author-controlled.js';
import type { RoleConfig } from '../../src/config/types.js';

const role = (name: string, allow: RoleConfig['allow']): RoleConfig => ({
  name,
  arn: `arn:aws:iam::111122223333:role/${name}`,
  strategy: 'assume-role',
  instance_profile: '',
  max_duration: 3600,
  session_policy: '',
  policy_arns: [],
  allow,
});

test('each author-controlled condition warns unless protected or environment_protected is true', () => {
  for (const cond of ['environments', 'deployment_tiers', 'pipeline_sources', 'user_logins'] as const) {
    const value = cond === 'deployment_tiers' ? ['production'] : ['x'];
    const w = authorControlledWarnings([role('r', { [cond]: value })]);
    assert.equal(w.length, 1, cond);
    assert.match(w[0] ?? '', new RegExp(`^\\[\\[roles\\]\\] "r" grants on allow\\.${cond}, which whoever writes`));
    assert.doesNotMatch(w[0] ?? '', /\n/, 'one line');
    assert.deepEqual(authorControlledWarnings([role('r', { [cond]: value, protected: true })]), []);
    assert.deepEqual(authorControlledWarnings([role('r', { [cond]: value, environment_protected: true })]), []);
    assert.equal(authorControlledWarnings([role('r', { [cond]: value, protected: false })]).length, 1, 'protected = false protects nothing');
  }
  assert.deepEqual(authorControlledWarnings([role('r', { projects: ['a/b'], refs: ['main'] })]), []);
});
