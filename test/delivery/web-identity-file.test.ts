// The web-identity token file: private, never through a symlink, owned by the job user, scrubbed without a trace.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scrubWebIdentityFile, webIdentityEnv, writeWebIdentityFile, WEB_IDENTITY_FILE_NAME } from '../../src/delivery/web-identity-file.js';
import { SystemFailure } from '../../src/core/exit-codes.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-wif-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('writeWebIdentityFile', () => {
  test('writes the token to a 0600 file and the env points the SDKs at it', async (t) => {
    const dir = await tempDir(t);
    const old = process.umask(0);
    t.after(async () => {
      process.umask(old);
    });
    const { path } = await writeWebIdentityFile(dir, TOKEN);
    assert.equal(path, join(dir, WEB_IDENTITY_FILE_NAME));
    assert.equal(await readFile(path, 'utf8'), TOKEN);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(webIdentityEnv({ roleArn: 'arn:aws:iam::1:role/r', tokenFile: path, sessionName: 'gitlab-job-1' }), {
      AWS_ROLE_ARN: 'arn:aws:iam::1:role/r',
      AWS_WEB_IDENTITY_TOKEN_FILE: path,
      AWS_ROLE_SESSION_NAME: 'gitlab-job-1',
    });
  });

  test('the file is owned by the job user when one is given', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
    const dir = await tempDir(t);
    const { path } = await writeWebIdentityFile(dir, TOKEN, { uid: 65534, gid: 65534 });
    const st = await stat(path);
    assert.equal(st.uid, 65534);
    assert.equal(st.gid, 65534);
    assert.equal(st.mode & 0o777, 0o600);
  });

  test('a planted symlink is refused and its target is left untouched', async (t) => {
    const dir = await tempDir(t);
    const target = join(dir, 'victim');
    await writeFile(target, 'original');
    const jobDir = join(dir, 'job');
    await mkdir(jobDir);
    await symlink(target, join(jobDir, WEB_IDENTITY_FILE_NAME));
    const err = await writeWebIdentityFile(jobDir, TOKEN).then(
      () => assert.fail('expected refusal'),
      (e: Error) => e,
    );
    assert.ok(err instanceof SystemFailure);
    assert.match(err.message, /refusing to follow or overwrite/);
    assert.ok(!err.message.includes(TOKEN));
    assert.equal(await readFile(target, 'utf8'), 'original');
    // a dangling symlink (target does not exist yet) must not be created through either
    await rm(target);
    await assert.rejects(writeWebIdentityFile(jobDir, TOKEN), SystemFailure);
    await assert.rejects(lstat(target), { code: 'ENOENT' });
  });

  test('a directory that is a symlink is refused', async (t) => {
    const dir = await tempDir(t);
    await mkdir(join(dir, 'real'));
    await symlink(join(dir, 'real'), join(dir, 'link'));
    await assert.rejects(writeWebIdentityFile(join(dir, 'link'), TOKEN), /symlink or not a directory/);
    assert.deepEqual(await readdir(join(dir, 'real')), []);
  });

  test('scrub removes the file and is idempotent', async (t) => {
    const dir = await tempDir(t);
    const { path } = await writeWebIdentityFile(dir, TOKEN);
    assert.deepEqual(await scrubWebIdentityFile(path), { removed: true });
    await assert.rejects(lstat(path), { code: 'ENOENT' });
    assert.deepEqual(await scrubWebIdentityFile(path), { removed: false });
    assert.deepEqual(await readdir(dir), []);
  });
});
