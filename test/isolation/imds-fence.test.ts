// Tests the IMDS fence check done before a restore: in place, re-installed, or an error that stops the restore.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureImdsFenced } from '../../src/isolation/imds-fence.js';
import type { JobroleConfig } from '../../src/config/types.js';
import { validateConfig } from '../../src/config/schema.js';

const config: JobroleConfig = validateConfig({ driver: { firewall_table: 'jrtest' } }, 'test.toml');
const uids = async () => [998, 999];

describe('ensureImdsFenced', () => {
  test('a verified block is left as it is', async () => {
    let installs = 0;
    const r = await ensureImdsFenced(config, { jobUids: uids, verify: async () => ({ ok: true }), install: async () => void installs++ });
    assert.equal(r, 'in place');
    assert.equal(installs, 0);
  });

  test('a missing block (an older version opened it, a firewall reload flushed it) is re-installed for every job user', async () => {
    let installed: number[] | undefined;
    let table: string | undefined;
    const r = await ensureImdsFenced(config, {
      jobUids: uids,
      verify: async () => (installed === undefined ? { ok: false, problem: 'table missing' } : { ok: true }),
      install: async (u, fw) => {
        installed = u;
        table = fw.table;
      },
    });
    assert.equal(r, 're-installed');
    assert.deepEqual(installed, [998, 999]);
    assert.equal(table, 'jrtest');
  });

  test('an install that fails, or a block still missing after it, is an error naming why', async () => {
    await assert.rejects(
      ensureImdsFenced(config, {
        jobUids: uids,
        verify: async () => ({ ok: false, problem: 'table missing' }),
        install: async () => {
          throw new Error('nft: Operation not permitted');
        },
      }),
      /not in place \(table missing\) and re-installing it failed: nft: Operation not permitted/,
    );
    await assert.rejects(
      ensureImdsFenced(config, { jobUids: uids, verify: async () => ({ ok: false, problem: 'uid 999 -> 169.254.169.254' }), install: async () => undefined }),
      /not in place after re-installing it: uid 999 -> 169\.254\.169\.254/,
    );
  });

  test('no job users: nothing to fence', async () => {
    assert.equal(await ensureImdsFenced(config, { jobUids: async () => [], verify: async () => assert.fail('verified nothing') }), 'no job users');
  });
});
