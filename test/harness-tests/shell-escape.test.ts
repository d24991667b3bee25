// Proves the harness quotes values and eval bodies the way bash reads them back unchanged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shellEscape, singleQuote } from '../harness/shell-escape.js';

const nasty = ['', 'plain', 'with space', "it's", 'a\nb\tc\r', '$HOME `id` $(id) ${x}', 'back\\slash', 'ünïcødé ☃', '\x01\x7f', "'\"'\"'"];

describe('shellEscape (the runner ShellEscape)', () => {
  test('leaves safe strings alone and ANSI-C quotes the rest', () => {
    assert.equal(shellEscape(''), "''");
    assert.equal(shellEscape('group/app-1.0@x_y,z'), 'group/app-1.0@x_y,z');
    assert.equal(shellEscape('a b'), "$'a b'");
    assert.equal(shellEscape("it's"), "$'it\\'s'");
    assert.equal(shellEscape('a\nb'), "$'a\\nb'");
    assert.equal(shellEscape('ü'), "$'\\xc3\\xbc'");
  });

  test('bash reads every exported value back byte for byte', () => {
    for (const value of nasty) {
      const out = execFileSync('bash', ['-c', `export V=${shellEscape(value)}; printf '%s' "$V"`], { encoding: 'utf8' });
      assert.equal(out, value, JSON.stringify(value));
    }
  });
});

describe('singleQuote (the eval body)', () => {
  test('eval of a single-quoted body runs it unchanged', () => {
    for (const value of nasty) {
      const body = `printf '%s' ${shellEscape(value)}`;
      const out = execFileSync('bash', ['-c', `eval ${singleQuote(body)}`], { encoding: 'utf8' });
      assert.equal(out, value, JSON.stringify(value));
    }
  });
});
