// Tests the redactor's sampled scanning: every position and buffer alignment is covered, and clean chunks pass uncopied.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSyncRedactor } from '../../src/redact/redactor.js';

/** Random base64 body (no padding) with at least one upper-case letter, lower-case letter and digit. */
function tokenLike(n: number): string {
  let s = '';
  while (s.length < n) s += randomBytes(n).toString('base64').replace(/[=+/]/g, '');
  return 'Aa0' + s.slice(0, n - 3);
}

/** Copies `text` into a buffer whose byteOffset is `shift` (so word alignment varies). */
function shifted(text: string, shift: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const backing = Buffer.alloc(bytes.length + shift + 8);
  bytes.copy(backing, shift);
  return backing.subarray(shift, shift + bytes.length);
}

/** One chunk, then the end, through a fresh redactor as the run stage makes one; returns the pieces it emitted. */
async function through(chunk: Buffer, secrets: string[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const r = createSyncRedactor({ secrets, idleFlushMs: 60_000 }, (pieces) => {
    for (const p of pieces) out.push(p);
  });
  r.chunks.write(chunk);
  r.chunks.end();
  return out;
}

async function redacted(text: string, secrets: string[], shift: number): Promise<string> {
  return Buffer.concat(await through(shifted(text, shift), secrets)).toString('utf8');
}

describe('sampled scanning', () => {
  const token = tokenLike(300);
  const piece = token.slice(50, 66);
  const exact15 = 'pw: 12 ab-cd.ef';
  const exact14 = 'pw: 12 ab-cd.e';

  test('masks a 16-byte piece and 15- and 14-byte exact values at every position and alignment', async () => {
    for (let shift = 0; shift < 4; shift++) {
      for (let pad = 0; pad < 26; pad++) {
        const lead = 'x-y.'.repeat(8).slice(0, pad);
        for (const [value, secret] of [
          [piece, token],
          [exact15, exact15],
          [exact14, exact14],
        ] as const) {
          const out = await redacted(`${lead} ${value}\n`, [secret], shift);
          assert.equal(out, `${lead} [MASKED]\n`, `value ${JSON.stringify(value)}, pad ${pad}, shift ${shift}`);
        }
      }
    }
  });

  test('masks a token-shaped run of exactly 100 bytes anywhere, after long spaceless text; leaves 99 alone', async () => {
    const t100 = tokenLike(100);
    const t99 = tokenLike(99);
    for (let shift = 0; shift < 4; shift++) {
      for (let pad = 0; pad < 30; pad++) {
        // '-' and '.' are not run bytes but are above '+': they keep the cheap word test passing up to the token.
        const lead = 'ab-cd.ef-gh.'.repeat(12).slice(0, 100 + pad);
        assert.equal(await redacted(`${lead}:${t100}\n`, [], shift), `${lead}:[MASKED]\n`, `pad ${pad}, shift ${shift}`);
        assert.equal(await redacted(`${lead}:${t99}\n`, [], shift), `${lead}:${t99}\n`, `pad ${pad}, shift ${shift}`);
      }
    }
  });

  test('finds an access key id at every position and alignment', async () => {
    for (let shift = 0; shift < 4; shift++) {
      for (let pad = 0; pad < 26; pad++) {
        const lead = 'abc AKIA x'.repeat(4).slice(0, pad);
        const out = await redacted(`${lead}=AKIAIOSFODNN7EXAMPLE.`, [], shift);
        assert.equal(out, `${lead}=[MASKED].`, `pad ${pad}, shift ${shift}`);
      }
    }
  });

  test('passes a chunk with nothing to mask through without copying it', async () => {
    const chunk = shifted('make: Nothing to be done for all.\n'.repeat(2000), 1);
    const out = await through(chunk, [token, 'AKIAIOSFODNN7EXAMPLE']);
    assert.equal(Buffer.concat(out).equals(chunk), true);
    assert.equal(out[0]!.buffer, chunk.buffer);
  });
});
