// Policy globs: "*" and "?" stay within one path segment, "**" crosses; everything else is literal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyGlob, globMatch } from '../../src/policy/glob.js';

test('literal patterns match only themselves', () => {
  assert.ok(globMatch('group/app', 'group/app'));
  assert.ok(!globMatch('group/app', 'group/app2'));
  assert.ok(!globMatch('group/app', 'xgroup/app'));
  assert.ok(!globMatch('group/app', 'Group/app'), 'case-sensitive');
  assert.ok(!globMatch('main', ''));
});

test('* stays within one segment', () => {
  assert.ok(globMatch('group/*', 'group/app'));
  assert.ok(globMatch('group/*', 'group/'));
  assert.ok(!globMatch('group/*', 'group/sub/app'), 'a subgroup is not matched by *');
  assert.ok(!globMatch('group/*', 'group'));
  assert.ok(!globMatch('group/*', 'other/app'));
  assert.ok(globMatch('release/*', 'release/1.2'));
  assert.ok(globMatch('*', 'main'));
  assert.ok(!globMatch('*', 'feature/x'));
});

test('** crosses segments', () => {
  assert.ok(globMatch('group/**', 'group/sub/deeper/app'));
  assert.ok(globMatch('group/**', 'group/app'));
  assert.ok(!globMatch('group/**', 'groupie/app'));
  assert.ok(globMatch('**', 'anything/at/all'));
});

test('? is exactly one character within a segment', () => {
  assert.ok(globMatch('v?', 'v1'));
  assert.ok(!globMatch('v?', 'v12'));
  assert.ok(!globMatch('v?', 'v'));
  assert.ok(!globMatch('a?b', 'a/b'));
});

test('regex metacharacters are literal', () => {
  assert.ok(globMatch('release-1.0', 'release-1.0'));
  assert.ok(!globMatch('release-1.0', 'release-1x0'), '. is not a wildcard');
  assert.ok(globMatch('a+b', 'a+b'));
  assert.ok(!globMatch('a+b', 'aab'));
  assert.ok(globMatch('x(y)|z', 'x(y)|z'));
  assert.ok(!globMatch('x(y)|z', 'z'), '| is not alternation');
  assert.ok(globMatch('[ab]', '[ab]'));
  assert.ok(!globMatch('[ab]', 'a'), '[] is not a class');
  assert.ok(globMatch('^$\\{}', '^$\\{}'));
  assert.ok(!globMatch('main', 'main\n'), 'no trailing newline slips past the anchor');
});

test('anyGlob: any pattern matches; an empty list matches nothing', () => {
  assert.ok(anyGlob(['main', 'release/*'], 'release/2'));
  assert.ok(!anyGlob(['main', 'release/*'], 'feature/x'));
  assert.ok(!anyGlob([], 'main'));
});
