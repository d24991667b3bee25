// Byte lookup tables the redactor scans with: the base64 alphabet of AWS secrets and the access-key-id alphabet.

function table(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';

/**
 * Bytes a secret "run" is made of: the base64 alphabet without '='. Secret access keys and session tokens are
 * base64 bodies; '=' is left out because it is padding only, and including it would glue `NAME=value` into one run.
 */
export const RUN_BYTE = table(UPPER + LOWER + DIGITS + '+/');

/** Bytes of an access key id: upper-case letters and digits. */
export const KEY_ID_BYTE = table(UPPER + DIGITS);

/** 1 = upper-case letter, 2 = lower-case letter, 4 = digit (for the session-token shape test). */
export const BYTE_KIND = (() => {
  const t = new Uint8Array(256);
  for (const c of UPPER) t[c.charCodeAt(0)] = 1;
  for (const c of LOWER) t[c.charCodeAt(0)] = 2;
  for (const c of DIGITS) t[c.charCodeAt(0)] = 4;
  return t;
})();

/** Shortest run the redactor looks at: shorter pieces of a secret are not worth masking (and would hit words). */
export const MIN_RUN = 16;
