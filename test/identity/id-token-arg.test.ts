// explain --id-token: the token itself, a file, or stdin; a wrong value is a user error that never echoes it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIdTokenArg } from '../../src/identity/id-token-arg.js';
import { SystemFailure } from '../../src/core/exit-codes.js';

const JWT = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'x', pad: 'y'.repeat(900) })).toString('base64url')}.${'s'.repeat(342)}`;

test('the token itself (longer than any file name), a file holding it, or "-" for stdin', async (t) => {
  assert.ok(JWT.length > 1200);
  assert.equal(await readIdTokenArg(JWT), JWT);
  assert.equal(await readIdTokenArg(` ${JWT}\n`), JWT);
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-idtok-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), `${JWT}\n`);
  assert.equal(await readIdTokenArg(join(dir, 'token')), JWT);
  assert.equal(await readIdTokenArg('-', async () => `${JWT}\n`), JWT);
});

test('a mangled token or a missing file: a clear SystemFailure that does not contain the value', async () => {
  const mangled = `${JWT.slice(0, 600)}#${JWT.slice(601)}`;
  for (const bad of [mangled, '/nonexistent/dir/token-file', `x.${'a'.repeat(5000)}`]) {
    await assert.rejects(readIdTokenArg(bad), (e: unknown) => {
      assert.ok(e instanceof SystemFailure, String(e));
      assert.match(e.message, /^--id-token: /);
      assert.ok(!e.message.includes(bad), 'the value is not echoed');
      assert.ok(!e.message.includes(JWT.slice(40, 80)), 'no part of the token is echoed');
      assert.doesNotMatch(e.message, /ENAMETOOLONG/);
      return true;
    });
  }
});
