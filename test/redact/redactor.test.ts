// Tests the redactor the run stage uses (createSyncRedactor, pieces collected from its emit callback): exact
// secrets, AWS shapes, chunk splits, folded lines, late secrets, idle flushes, no false hits.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSyncRedactor, type RedactorOptions } from '../../src/redact/redactor.js';

const AKID = 'ASIAQWERTYUIOPASDF12';
const SAK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = randomBase64(812);
const ODD = 'p@ss w0rd!-with_spaces';

function randomBase64(n: number): string {
  let s = '';
  while (s.length < n) s += randomBytes(n).toString('base64').replace(/=/g, '');
  return s.slice(0, n);
}

function fold(s: string, width: number): string {
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += width) lines.push(s.slice(i, i + width));
  return lines.join('\n');
}

/** A redactor as the run stage makes one (output-pump.ts), with every piece it emits collected in order. */
function collecting(opts: RedactorOptions) {
  const got: Buffer[] = [];
  const r = createSyncRedactor(opts, (pieces) => {
    for (const p of pieces) got.push(p);
  });
  return { r, got, text: () => Buffer.concat(got).toString('utf8') };
}

/** A whole text as one chunk, then the end of the stream. */
function redactOnce(opts: RedactorOptions, s: string): string {
  const c = collecting(opts);
  c.r.chunks.write(Buffer.from(s, 'utf8'));
  c.r.chunks.end();
  return c.text();
}

/** Pushes chunks through a fresh redactor (no idle flush) and returns the whole output. */
async function run(chunks: Array<string | Buffer>, secrets: string[], mid?: (add: (s: string) => void, i: number) => void): Promise<string> {
  const c = collecting({ secrets, idleFlushMs: 60_000 });
  chunks.forEach((chunk, i) => {
    mid?.((s) => c.r.addSecret(s), i);
    c.r.chunks.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  });
  c.r.chunks.end();
  return c.text();
}

/** True when any piece of `secret` of `len` characters appears in `text`. */
function leaksPiece(text: string, secret: string, len: number): boolean {
  for (let i = 0; i + len <= secret.length; i++) if (text.includes(secret.slice(i, i + len))) return true;
  return false;
}

describe('one chunk', () => {
  test('masks exact registered secrets, including ones with spaces and punctuation', () => {
    const out = redactOnce({ secrets: [SAK, ODD] }, `key=${SAK} pw="${ODD}" end`);
    assert.equal(out, 'key=[MASKED] pw="[MASKED]" end');
  });

  test('masks an access key id and a session token it was never told about', () => {
    const out = redactOnce({}, `AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SESSION_TOKEN=${TOKEN}\n`);
    assert.equal(out, 'AWS_ACCESS_KEY_ID=[MASKED]\nAWS_SESSION_TOKEN=[MASKED]\n');
  });

  test('uses the configured mask', () => {
    assert.equal(redactOnce({ secrets: [SAK], mask: '***' }, `[${SAK}]`), '[***]');
  });

  test('leaves SHAs, UUIDs, digests, paths, rulers, hex dumps and PEM lines alone', () => {
    const opts = { secrets: [SAK, TOKEN, AKID] };
    const benign = [
      'commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main)',
      'request-id: 123e4567-e89b-12d3-a456-426614174000',
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      '/builds/group/project/node_modules/typescript/lib/typescript/somethinglonger/andlonger/deeper/still/more/more/file',
      '='.repeat(120),
      '/'.repeat(120),
      'deadbeef'.repeat(30),
      'MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJRTESMBAGA1UE',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ is the alphabet; AKIA is a prefix; ASIA0123 short',
      'src/components/VeryLongComponentNameForTesting.tsx(12,5): error TS2322',
      'PASSED  test_authentication_handles_expired_tokens_gracefully (0.12s)',
    ].join('\n');
    assert.equal(redactOnce(opts, benign), benign);
  });

  test('does not take 20 upper-case characters glued into a longer upper-case word for a key id', () => {
    const s = 'XASIAQWERTYUIOPASDF12 ASIAQWERTYUIOPASDF12X';
    assert.equal(redactOnce({}, s), s);
  });

  test('masks every piece of a known secret folded over lines (fold -w 60)', () => {
    const folded = fold(TOKEN, 60);
    const out = redactOnce({ secrets: [TOKEN] }, `$ echo $AWS_SESSION_TOKEN | fold -w 60\n${folded}\n`);
    assert.equal(leaksPiece(out, TOKEN, 16), false);
    assert.match(out, /^\$ echo \$AWS_SESSION_TOKEN \| fold -w 60\n(\[MASKED\]\n){14}$/);
  });

  test('masks the tail of a token glued to text and the head of one glued to text', () => {
    const out = redactOnce({ secrets: [SAK] }, `x${SAK.slice(0, 20)}\n${SAK.slice(20)}abc\n`);
    assert.equal(leaksPiece(out, SAK, 16), false);
  });
});

describe('a stream of chunks', () => {
  const text =
    `step 1 ok\nexport AWS_ACCESS_KEY_ID=${AKID}\nsecret ${SAK} and ${ODD}!\n` + `token:${TOKEN}\ncommit 3f786850e387550fdab836ed7e6dc881de23001b done ✓ ü\n`;
  const secrets = [AKID, SAK, TOKEN, ODD];

  test('gives the same output as the whole text in one chunk whatever the chunk boundary', async () => {
    const expected = redactOnce({ secrets }, text);
    assert.equal(expected.includes('[MASKED]'), true);
    const bytes = Buffer.from(text);
    for (let k = 0; k <= bytes.length; k++) {
      const out = await run([bytes.subarray(0, k), bytes.subarray(k)], secrets);
      assert.equal(out, expected, `split at byte ${k}`);
    }
  });

  test('survives three-way and byte-by-byte splits', async () => {
    const expected = redactOnce({ secrets }, text);
    const bytes = Buffer.from(text);
    for (let trial = 0; trial < 200; trial++) {
      const a = Math.floor(Math.random() * bytes.length);
      const b = a + Math.floor(Math.random() * (bytes.length - a));
      assert.equal(await run([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)], secrets), expected);
    }
    const single = [...bytes].map((x) => Buffer.from([x]));
    assert.equal(await run(single, secrets), expected);
  });

  test('masks a secret registered while streaming', async () => {
    const late = randomBase64(40);
    const out = await run(['before\n', `now ${late}\n`, `again ${late.slice(0, 10)}`, `${late.slice(10)}\n`], [], (add, i) => {
      if (i === 1) add(late);
    });
    assert.equal(out, 'before\nnow [MASKED]\nagain [MASKED]\n');
  });

  test('writes a held-back tail after a short idle, without waiting for the end', async () => {
    const { r, text } = collecting({ idleFlushMs: 20 });
    r.chunks.write(Buffer.from('Continue? [y/N] answer'));
    await new Promise((res) => setImmediate(res));
    assert.equal(text(), 'Continue? [y/N] ', 'the trailing word is held back at first');
    await new Promise((res) => setTimeout(res, 80));
    assert.equal(text(), 'Continue? [y/N] answer');
    r.chunks.dispose();
  });

  test('an idle flush in the middle of a known secret still masks both halves', async () => {
    const { r, text } = collecting({ secrets: [SAK], idleFlushMs: 10 });
    r.chunks.write(Buffer.from(`k=${SAK.slice(0, 20)}`));
    await new Promise((res) => setTimeout(res, 50));
    r.chunks.write(Buffer.from(`${SAK.slice(20)}\n`));
    r.chunks.end();
    const out = text();
    assert.equal(out, 'k=[MASKED][MASKED]\n');
  });

  test('passes multi-byte characters split across chunks through intact', async () => {
    const s = 'héllo wörld ✓ 日本語\n';
    const bytes = Buffer.from(s);
    for (let k = 0; k <= bytes.length; k++) assert.equal(await run([bytes.subarray(0, k), bytes.subarray(k)], [SAK]), s);
  });

  test('a large log in random chunks: no secret or 16-character piece of one survives', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      lines.push(`[${i}] cc -O2 -c src/file${i}.c -o build/file${i}.o`);
      if (i % 97 === 0) lines.push(`debug token=${TOKEN} key ${SAK} id ${AKID}`);
      if (i % 211 === 0) lines.push(fold(TOKEN, 60));
    }
    const bytes = Buffer.from(lines.join('\n') + '\n');
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length;) {
      const n = 1 + Math.floor(Math.random() * 5000);
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    const out = await run(chunks, [TOKEN, SAK]);
    assert.equal(leaksPiece(out, TOKEN, 16), false);
    assert.equal(leaksPiece(out, SAK, 16), false);
    assert.equal(out.includes(AKID), false);
    assert.equal(out.split('\n').length, bytes.toString().split('\n').length);
  });
});
