// Random identifiers shaped like AWS's: access keys, secrets, session tokens, role/association ids.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function pick(alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** ASIA… for session keys, AKIA… for long-term IAM user keys: 20 chars in all. */
export function accessKeyId(prefix: 'ASIA' | 'AKIA'): string {
  return prefix + pick(UPPER_ALNUM, 16);
}

export function secretAccessKey(): string {
  return pick(SECRET_CHARS, 40);
}

/** A base64 blob of several hundred chars that starts like AWS's session tokens do. */
export function sessionToken(): string {
  return 'IQoJb3JpZ2luX2Vj' + randomBytes(480).toString('base64');
}

/** Unique ids: AROA (role), AIDA (user), AIPA (instance profile), 21 chars. */
export function uniqueId(prefix: 'AROA' | 'AIDA' | 'AIPA'): string {
  return prefix + pick(UPPER_ALNUM, 17);
}

export function hexId(prefix: string, n = 17): string {
  return (
    prefix +
    randomBytes(Math.ceil(n / 2))
      .toString('hex')
      .slice(0, n)
  );
}

export function requestId(): string {
  return randomUUID();
}
