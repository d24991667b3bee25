// Detects what looks like an AWS access key id or session token inside a run, without knowing the value.

import { BYTE_KIND, KEY_ID_BYTE } from './byte-classes.js';

/** Access key id prefixes (IAM unique-id prefixes AWS documents: keys, roles, users, groups, ...). */
const KEY_ID_PREFIXES = new Set(['AKIA', 'ASIA', 'AROA', 'AIDA', 'AGPA', 'AIPA', 'ANPA', 'ANVA', 'APKA', 'ABIA', 'ACCA']);
const KEY_ID_LENGTH = 20;

/**
 * Session-token shape: a run of >= 100 base64 bytes that holds an upper-case letter, a lower-case letter and a
 * digit. STS session tokens are base64 of several hundred bytes, so they always qualify. Why 100: the long
 * identifiers logs are full of stay well below it (git SHA-1 40 hex, SHA-256 64 hex, UUID 36 with dashes that
 * break runs, PEM/base64 lines 64 or 76); and the mixed-case + digit rule spares long hex dumps, `=====` or
 * `/////` rulers and long lower-case paths, which never mix all three.
 */
export const TOKEN_MIN_LENGTH = 100;

/**
 * Appends [start, end) pairs of access key ids ending at or before `to`: 20 key-id bytes with a known prefix and
 * no key-id byte on either side. Every prefix starts with 'A', so a native memchr cursor skips the rest.
 */
export function findKeyIds(b: Buffer, to: number, out: number[]): void {
  for (let i = b.indexOf(0x41 /* A */); i !== -1 && i + KEY_ID_LENGTH <= to; i = b.indexOf(0x41, i + 1)) {
    if (KEY_ID_BYTE[b[i + 1]!] === 0 || (i > 0 && KEY_ID_BYTE[b[i - 1]!] === 1)) continue;
    if (i + KEY_ID_LENGTH < b.length && KEY_ID_BYTE[b[i + KEY_ID_LENGTH]!] === 1) continue;
    let j = i + 2;
    while (j < i + KEY_ID_LENGTH && KEY_ID_BYTE[b[j]!] === 1) j++;
    if (j < i + KEY_ID_LENGTH) {
      i = j;
      continue;
    }
    const prefix = String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
    if (KEY_ID_PREFIXES.has(prefix) || prefix.startsWith('A3T')) out.push(i, i + KEY_ID_LENGTH);
  }
}

/** True when run [s, e) has the session-token shape described at TOKEN_MIN_LENGTH. */
export function isTokenShaped(b: Uint8Array, s: number, e: number): boolean {
  if (e - s < TOKEN_MIN_LENGTH) return false;
  let seen = 0;
  for (let i = s; i < e; i++) {
    seen |= BYTE_KIND[b[i]!]!;
    if (seen === 7) return true;
  }
  return false;
}
