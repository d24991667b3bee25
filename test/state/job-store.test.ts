// Per-job state: layout and modes, job keys that cannot escape the jobs dir, round trips, listing and deletion.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deleteJobState,
  ensureStateLayout,
  isJobKey,
  jobDir,
  jobFilesDir,
  listJobKeys,
  readJobState,
  stateLayout,
  writeJobState,
} from '../../src/state/job-store.js';
import { KEY, sampleState } from './state-fixture.js';

async function layoutIn(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return stateLayout(join(dir, 'state'));
}
const mode = async (p: string) => (await lstat(p)).mode & 0o7777;

test('stateLayout and ensureStateLayout: the documented directories and modes', async (t) => {
  const layout = await layoutIn(t);
  assert.deepEqual(layout, {
    root: layout.root,
    jobs: join(layout.root, 'jobs'),
    slots: join(layout.root, 'slots'),
    files: join(layout.root, 'files'),
    cache: join(layout.root, 'driver-cache'),
  });
  await ensureStateLayout(layout);
  assert.equal(await mode(layout.root), 0o711);
  assert.equal(await mode(layout.jobs), 0o700);
  assert.equal(await mode(layout.slots), 0o700);
  assert.equal(await mode(layout.files), 0o711);
  assert.equal(await mode(layout.cache), 0o700);
});

test('job keys: <jobId>-<12 hex>; anything else cannot name a directory', () => {
  assert.ok(isJobKey(KEY));
  for (const bad of [
    '',
    '4242',
    '4242-0123456789AB',
    '4242-0123456789a',
    '../4242-0123456789ab',
    '4242-0123456789ab/..',
    'x-0123456789ab',
    '4242-0123456789ab\n',
  ]) {
    assert.ok(!isJobKey(bad), JSON.stringify(bad));
  }
  const layout = stateLayout('/var/lib/jobrole');
  assert.equal(jobDir(layout, KEY), '/var/lib/jobrole/jobs/4242-0123456789ab');
  assert.equal(jobFilesDir(layout, KEY), '/var/lib/jobrole/files/4242-0123456789ab');
  assert.throws(() => jobDir(layout, '../../etc'), /not a job key: "..\/..\/etc"/);
  assert.throws(() => jobFilesDir(layout, '..'), /not a job key/);
});

test('write/read round trip: state.json 0600 in a 0700 dir, no temp files', async (t) => {
  const layout = await layoutIn(t);
  await ensureStateLayout(layout);
  const state = sampleState();
  await writeJobState(layout, state);
  assert.deepEqual(await readJobState(layout, KEY), state);
  const dir = jobDir(layout, KEY);
  assert.equal(await mode(dir), 0o700);
  assert.equal(await mode(join(dir, 'state.json')), 0o600);
  await writeJobState(layout, { ...state, phase: 'scrubbing' });
  assert.equal((await readJobState(layout, KEY))?.phase, 'scrubbing');
  assert.deepEqual(await readdir(dir), ['state.json']);
});

test('readJobState: undefined when absent, refuses a symlinked state.json', async (t) => {
  const layout = await layoutIn(t);
  await ensureStateLayout(layout);
  assert.equal(await readJobState(layout, KEY), undefined);
  const dir = jobDir(layout, KEY);
  await mkdir(dir);
  await writeFile(join(layout.root, 'planted.json'), JSON.stringify(sampleState()));
  await symlink(join(layout.root, 'planted.json'), join(dir, 'state.json'));
  await assert.rejects(readJobState(layout, KEY), { code: 'ELOOP' });
});

test('listJobKeys lists job directories only; none when the jobs dir is missing', async (t) => {
  const layout = await layoutIn(t);
  assert.deepEqual(await listJobKeys(layout), []);
  await ensureStateLayout(layout);
  await writeJobState(layout, sampleState('1-aaaaaaaaaaaa'));
  await writeJobState(layout, sampleState('2-bbbbbbbbbbbb'));
  await mkdir(join(layout.jobs, 'not-a-job'));
  await writeFile(join(layout.jobs, '.tmp'), '');
  assert.deepEqual((await listJobKeys(layout)).sort(), ['1-aaaaaaaaaaaa', '2-bbbbbbbbbbbb']);
});

test('deleteJobState removes the whole job directory and is idempotent', async (t) => {
  const layout = await layoutIn(t);
  await ensureStateLayout(layout);
  await writeJobState(layout, sampleState());
  await writeFile(join(jobDir(layout, KEY), 'feed.sock'), '');
  await deleteJobState(layout, KEY);
  await assert.rejects(lstat(jobDir(layout, KEY)), { code: 'ENOENT' });
  await deleteJobState(layout, KEY);
  assert.equal(await readJobState(layout, KEY), undefined);
});
