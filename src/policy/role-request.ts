// Reads the role a job asks for (a CI variable, i.e. job-author input) and rejects malformed requests.

import { BuildFailure } from '../core/exit-codes.js';

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Printable, bounded rendering of untrusted input for messages. */
export function describeUntrusted(value: string, max = 40): string {
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f\p{Cf}]/gu, '?');
  return printable.length > max ? `${JSON.stringify(printable.slice(0, max))}... (${value.length} characters)` : JSON.stringify(printable);
}

/** The requested role name, or undefined when the job asked for none. Malformed → BuildFailure. */
export function readRoleRequest(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const raw = env[`CUSTOM_ENV_${variable}`];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value === '') return undefined;
  if (!ROLE_NAME.test(value)) {
    const why = /[\u0000-\u001f\u007f]/.test(value)
      ? 'contains control characters'
      : value.length > 64
        ? `is ${value.length} characters long`
        : 'has characters a role name cannot have';
    throw new BuildFailure(
      `${variable} ${why}: ${describeUntrusted(value)}. Set it to the name of a role this runner offers (letters, digits, ".", "_", "-"; at most 64).`,
    );
  }
  return value;
}
