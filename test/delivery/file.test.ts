// Delivery file: credentials + config as 0600 ini files the SDKs read, written atomically, never through a symlink.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCredentialFiles } from '../../src/delivery/file.js';

const creds = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/key+1', sessionToken: 'token==', expiration: new Date('2030-06-01T13:00:00Z') };

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('writes credentials and config ini files (0600) and the env that points at them', async (t) => {
  const dir = await tempDir(t);
  const out = await writeCredentialFiles(dir, creds, 'eu-west-1');
  const credentialsPath = join(dir, 'credentials');
  const configPath = join(dir, 'config');
  assert.deepEqual(out.files, [credentialsPath, configPath]);
  assert.deepEqual(out.env, {
    AWS_SHARED_CREDENTIALS_FILE: credentialsPath,
    AWS_CONFIG_FILE: configPath,
    AWS_CREDENTIAL_EXPIRATION: '2030-06-01T13:00:00.000Z',
  });
  assert.equal(
    await readFile(credentialsPath, 'utf8'),
    '[default]\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = secret/key+1\naws_session_token = token==\n',
  );
  assert.equal(await readFile(configPath, 'utf8'), '[default]\nregion = eu-west-1\n');
  for (const f of out.files) {
    const st = await lstat(f);
    assert.ok(st.isFile());
    assert.equal(st.mode & 0o777, 0o600, `${f} must be 0600`);
  }
  assert.deepEqual((await readdir(dir)).sort(), ['config', 'credentials'], 'no temp files left');
});

test('rewriting replaces the files (refresh) and a planted symlink is replaced, not followed', async (t) => {
  const dir = await tempDir(t);
  const outside = join(dir, 'outside.txt');
  await writeFile(outside, 'untouched');
  await symlink(outside, join(dir, 'credentials'));
  await writeCredentialFiles(dir, creds, 'us-east-1');
  assert.equal(await readFile(outside, 'utf8'), 'untouched');
  assert.ok((await lstat(join(dir, 'credentials'))).isFile());
  await writeCredentialFiles(dir, { ...creds, accessKeyId: 'ASIASECOND' }, 'us-east-1');
  assert.match(await readFile(join(dir, 'credentials'), 'utf8'), /aws_access_key_id = ASIASECOND/);
});

test('owner is applied when given', { skip: process.getuid?.() !== 0 ? 'needs root to chown' : false }, async (t) => {
  const dir = await tempDir(t);
  await writeCredentialFiles(dir, creds, 'us-east-1', { uid: 65534, gid: 65534 });
  for (const name of ['credentials', 'config']) {
    const st = await lstat(join(dir, name));
    assert.equal(st.uid, 65534);
    assert.equal(st.gid, 65534);
    assert.equal(st.mode & 0o777, 0o600);
  }
});

test('a missing directory fails without leaving anything', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(writeCredentialFiles(join(dir, 'nope'), creds, 'us-east-1'), { code: 'ENOENT' });
  assert.deepEqual(await readdir(dir), []);
});
