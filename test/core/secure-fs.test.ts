// Secure file helpers: exact modes, exclusive creation, no symlink following, atomic replace, safe removal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDir, readFileNoFollow, scrubPath, writeFileAtomic, writeNewFile } from '../../src/core/secure-fs.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-sfs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
const mode = async (p: string) => (await lstat(p)).mode & 0o7777;

test('ensurePrivateDir creates with exactly the mode (whatever the umask) and tightens an existing dir', async (t) => {
  const dir = await tempDir(t);
  await ensurePrivateDir(join(dir, 'a/b'), 0o711);
  assert.equal(await mode(join(dir, 'a/b')), 0o711);
  await mkdir(join(dir, 'loose'));
  await chmod(join(dir, 'loose'), 0o777);
  await ensurePrivateDir(join(dir, 'loose'));
  assert.equal(await mode(join(dir, 'loose')), 0o700);
  await ensurePrivateDir(join(dir, 'loose'));
  assert.equal(await mode(join(dir, 'loose')), 0o700, 'idempotent');
});

test("ensurePrivateDir refuses a symlink or a file in the directory's place", async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'elsewhere');
  await mkdir(target, { mode: 0o755 });
  await chmod(target, 0o755);
  await symlink(target, join(dir, 'link'));
  await assert.rejects(ensurePrivateDir(join(dir, 'link')), /is not a directory \(a symlink or file is in its place\)/);
  assert.equal(await mode(target), 0o755, 'the symlink target is not chmod-ed');
  await writeFile(join(dir, 'file'), 'x');
  await assert.rejects(ensurePrivateDir(join(dir, 'file')));
});

test('writeNewFile: exclusive, exact mode, refuses an existing file and a planted symlink (even a dangling one)', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'secret');
  await writeNewFile(p, 'one', 0o640);
  assert.equal(await readFile(p, 'utf8'), 'one');
  assert.equal(await mode(p), 0o640);
  await assert.rejects(writeNewFile(p, 'two'), { code: 'EEXIST' });
  assert.equal(await readFile(p, 'utf8'), 'one');

  const victim = join(dir, 'victim');
  await symlink(victim, join(dir, 'dangling'));
  await assert.rejects(writeNewFile(join(dir, 'dangling'), 'x'), { code: 'EEXIST' });
  await assert.rejects(lstat(victim), { code: 'ENOENT' }, 'nothing created through the symlink');

  await writeFile(victim, 'original');
  await symlink(victim, join(dir, 'live'));
  await assert.rejects(writeNewFile(join(dir, 'live'), 'x'));
  assert.equal(await readFile(victim, 'utf8'), 'original');
});

test('writeFileAtomic: replaces content atomically with the given mode, leaves no temp file', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'state.json');
  await writeFile(p, 'old', { mode: 0o644 });
  await writeFileAtomic(p, Buffer.from('new'), 0o600);
  assert.equal(await readFile(p, 'utf8'), 'new');
  assert.equal(await mode(p), 0o600);
  assert.deepEqual(await readdir(dir), ['state.json']);
});

test('writeFileAtomic over a symlink replaces the link, never writes through it', async (t) => {
  const dir = await tempDir(t);
  const victim = join(dir, 'victim');
  await writeFile(victim, 'original');
  await symlink(victim, join(dir, 'state.json'));
  await writeFileAtomic(join(dir, 'state.json'), 'mine');
  assert.equal(await readFile(victim, 'utf8'), 'original');
  assert.ok((await lstat(join(dir, 'state.json'))).isFile());
  assert.equal(await readFile(join(dir, 'state.json'), 'utf8'), 'mine');
});

test('writeFileAtomic failure cleans its temp file', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'taken'));
  await writeFile(join(dir, 'taken', 'x'), 'x');
  await assert.rejects(writeFileAtomic(join(dir, 'taken'), 'data'));
  assert.deepEqual((await readdir(dir)).sort(), ['taken'], 'the temp file was removed');
});

test('concurrent writeFileAtomic calls leave one complete version', async (t) => {
  const dir = await tempDir(t);
  const p = join(dir, 'f');
  const versions = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}:${'x'.repeat(10000)}`);
  await Promise.all(versions.map((v) => writeFileAtomic(p, v)));
  assert.ok(versions.includes(await readFile(p, 'utf8')));
  assert.deepEqual(await readdir(dir), ['f']);
});

test('readFileNoFollow reads files and refuses a symlink', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'real'), 'content');
  assert.equal(await readFileNoFollow(join(dir, 'real')), 'content');
  await symlink(join(dir, 'real'), join(dir, 'link'));
  await assert.rejects(readFileNoFollow(join(dir, 'link')), { code: 'ELOOP' });
  await assert.rejects(readFileNoFollow(join(dir, 'missing')), { code: 'ENOENT' });
});

test('scrubPath removes a tree but not what its symlinks point to; missing is fine', async (t) => {
  const dir = await tempDir(t);
  const keep = join(dir, 'keep');
  await mkdir(keep);
  await writeFile(join(keep, 'precious'), 'p');
  const doomed = join(dir, 'doomed');
  await mkdir(join(doomed, 'sub'), { recursive: true });
  await writeFile(join(doomed, 'sub', 'creds'), 'c');
  await symlink(keep, join(doomed, 'link-to-keep'));
  await scrubPath(doomed);
  await assert.rejects(lstat(doomed), { code: 'ENOENT' });
  assert.equal(await readFile(join(keep, 'precious'), 'utf8'), 'p');
  await scrubPath(doomed);
  await scrubPath(join(dir, 'never-existed'));
});
