// A JSON value read where text is expected (a claim, a request field, a variable's value), as that text.

/** Strings as they are, numbers and booleans as String() writes them, objects and arrays as JSON; absent → fallback. */
export function jsonText(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}
