// The audit log: JSON lines, never a secret-named key, private files, failures reported not thrown, whole lines under concurrency.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { auditLine, auditLog, type AuditRecord } from '../../src/audit/audit-log.js';

const run = promisify(execFile);
/** A record with fields the AuditRecord type refuses (a cast or JavaScript caller): the runtime filter still applies. */
const untyped = (r: Record<string, unknown> & { event: AuditRecord['event'] }): AuditRecord => r;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-audit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('auditLine: one JSON line with the time first; undefined fields dropped; long strings cut', () => {
  const line = auditLine(
    untyped({ event: 'issue', job_id: 4242, role: 'deploy', note: undefined, detail: 'x'.repeat(5000) }),
    new Date('2030-01-01T00:00:00Z'),
  );
  assert.ok(line.endsWith('\n'));
  assert.equal(line.indexOf('\n'), line.length - 1, 'exactly one line');
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['time', 'event', 'job_id', 'role', 'detail']);
  assert.equal(parsed.time, '2030-01-01T00:00:00.000Z');
  assert.equal((parsed.detail as string).length, 2000);
  assert.equal((JSON.parse(auditLine({ event: 'scrub', detail: 'a\nb\r\u2028c' })) as Record<string, unknown>).detail, 'a\nb\r\u2028c');
  assert.equal(auditLine({ event: 'scrub', detail: 'a\nb' }).split('\n').length, 2, 'newlines in values are escaped');
});

test('auditLine never writes keys that name secrets or tokens, whatever the caller passes', () => {
  const record = {
    event: 'issue' as const,
    access_key_id: 'ASIAEXAMPLE',
    secret_access_key: 'S1',
    SecretAccessKey: 'S2',
    session_token: 'S3',
    SessionToken: 'S4',
    token: 'S5',
    id_token: 'S6',
    password: 'S7',
    credentials: 'S8',
    aws_credential: 'S9',
    client_secret: 'S10',
    authorization_token: 'S11',
  };
  const line = auditLine(record);
  for (let i = 1; i <= 11; i++) assert.ok(!line.includes(`"S${i}"`), `S${i} leaked: ${line}`);
  assert.equal(
    (JSON.parse(line) as Record<string, unknown>).access_key_id,
    'ASIAEXAMPLE',
    'the key id is not a secret and identifies the session in CloudTrail',
  );
});

// Known bug (see report): only top-level keys are filtered; a nested object carries its secrets straight through.
test('auditLine filters secret-named keys inside nested values too', () => {
  const line = auditLine(untyped({ event: 'issue', extra: { SecretAccessKey: 'NESTED-SECRET', nested: [{ session_token: 'NESTED-TOKEN' }] } }));
  assert.ok(!line.includes('NESTED-SECRET') && !line.includes('NESTED-TOKEN'), line);
});

test('auditLog appends lines to a new 0600 file in a 0700 directory', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'log', 'audit.jsonl');
  const log = auditLog(path, (e) => assert.fail(e));
  await log.write({ event: 'decision', job_id: 1, outcome: 'allow' });
  await log.write(untyped({ event: 'scrub', job_id: 1, outcome: 'ok', session_token: 'never' }));
  const lines = (await readFile(path, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.event, l.outcome]),
    [
      ['decision', 'allow'],
      ['scrub', 'ok'],
    ],
  );
  assert.ok(!('session_token' in (lines[1] ?? {})));
  assert.equal((await lstat(path)).mode & 0o777, 0o600);
  assert.equal((await lstat(join(dir, 'log'))).mode & 0o777, 0o700);
});

test('auditLog refuses a symlink at the log path and reports instead of throwing', async (t) => {
  const dir = await tempDir(t);
  const victim = join(dir, 'victim');
  await writeFile(victim, 'original\n');
  await symlink(victim, join(dir, 'audit.jsonl'));
  const errors: Error[] = [];
  await auditLog(join(dir, 'audit.jsonl'), (e) => errors.push(e)).write({ event: 'decision' });
  assert.equal(await readFile(victim, 'utf8'), 'original\n');
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as NodeJS.ErrnoException).code, 'ELOOP');
});

test('auditLog never throws, even without an error handler', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'audit.jsonl'));
  await auditLog(join(dir, 'audit.jsonl')).write({ event: 'scrub' });
  const errors: Error[] = [];
  await auditLog(join(dir, 'audit.jsonl'), (e) => errors.push(e)).write({ event: 'scrub' });
  assert.equal((errors[0] as NodeJS.ErrnoException | undefined)?.code, 'EISDIR');
});

test('concurrent appends from 8 processes x 500 records: whole lines only, none lost', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'audit.jsonl');
  const fixture = fileURLToPath(new URL('./fixtures/append-records.ts', import.meta.url));
  const writers = 8;
  const count = 500;
  await Promise.all(
    Array.from({ length: writers }, (_, id) => run(process.execPath, ['--import', 'tsx', fixture, path, String(id), String(count)], { timeout: 60_000 })),
  );
  const text = await readFile(path, 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines.length, writers * count);
  const seen = new Map<number, number[]>();
  for (const line of lines) {
    const r = JSON.parse(line) as { event: string; job_id: number; seq: number; detail: string };
    assert.equal(r.event, 'refresh');
    assert.ok(r.detail.startsWith(`writer ${r.job_id} record ${r.seq} `), 'no interleaving inside a line');
    const list = seen.get(r.job_id) ?? [];
    list.push(r.seq);
    seen.set(r.job_id, list);
  }
  for (let id = 0; id < writers; id++) {
    assert.deepEqual(
      seen.get(id),
      Array.from({ length: count }, (_, i) => i),
      `writer ${id}: every record, in order`,
    );
  }
});
