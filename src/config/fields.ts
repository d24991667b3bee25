// Field validators for the config schema: each names the key, the value it got and what it expected.

import { parseDuration } from './duration.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A validator turns a raw TOML value into a typed one or throws ConfigError naming key and value. */
export type Field<T> = { parse(raw: unknown, key: string): T; describe: string };

export function show(raw: unknown): string {
  const text = typeof raw === 'number' && !Number.isFinite(raw) ? String(raw) : (JSON.stringify(raw) ?? String(raw));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function fail(key: string, raw: unknown, expected: string): never {
  throw new ConfigError(`${key} = ${show(raw)}: expected ${expected}`);
}

export const str = (opts: { pattern?: RegExp; hint?: string; maxLength?: number; allowEmpty?: boolean } = {}): Field<string> => ({
  describe: opts.hint ?? 'a string',
  parse(raw, key) {
    if (typeof raw !== 'string') fail(key, raw, opts.hint ?? 'a string');
    if (opts.maxLength !== undefined && raw.length > opts.maxLength) fail(key, raw, `at most ${opts.maxLength} characters`);
    if (opts.pattern && !(raw === '' && opts.allowEmpty === true) && !opts.pattern.test(raw)) fail(key, raw, opts.hint ?? `a string matching ${opts.pattern}`);
    return raw;
  },
});

export const absPath = (): Field<string> => ({
  describe: 'an absolute path',
  parse(raw, key) {
    if (typeof raw !== 'string' || !raw.startsWith('/') || raw.includes('\0')) fail(key, raw, 'an absolute path');
    return raw.replace(/\/+$/, '') || '/';
  },
});

export const url = (opts: { allowEmpty: boolean }): Field<string> => ({
  describe: 'an http(s) URL',
  parse(raw, key) {
    if (typeof raw !== 'string') fail(key, raw, 'an http(s) URL');
    if (raw === '' && opts.allowEmpty) return raw;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      fail(key, raw, 'an http(s) URL such as "https://sts.us-east-1.amazonaws.com"');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(key, raw, 'an http(s) URL');
    return raw.replace(/\/+$/, '');
  },
});

export const bool = (): Field<boolean> => ({
  describe: 'true or false',
  parse(raw, key) {
    if (typeof raw !== 'boolean') fail(key, raw, 'true or false');
    return raw;
  },
});

export const int = (min: number, max: number): Field<number> => ({
  describe: `a whole number from ${min} to ${max}`,
  parse(raw, key) {
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
      fail(key, raw, `a whole number from ${min} to ${max}`);
    }
    return raw;
  },
});

export const duration = (minSeconds: number, maxSeconds: number): Field<number> => ({
  describe: `a duration such as "15m" or "1h" (${minSeconds}s to ${maxSeconds}s)`,
  parse(raw, key) {
    const seconds = parseDuration(raw);
    if (seconds === undefined || seconds < minSeconds || seconds > maxSeconds) {
      fail(key, raw, `a duration such as "15m" or "1h" (or whole seconds) from ${minSeconds}s to ${maxSeconds}s`);
    }
    return seconds;
  },
});

export const oneOf = <T extends string>(values: readonly T[]): Field<T> => ({
  describe: `one of ${values.join(', ')}`,
  parse(raw, key) {
    if (typeof raw !== 'string' || !(values as readonly string[]).includes(raw)) fail(key, raw, `one of ${values.map((v) => `"${v}"`).join(', ')}`);
    return raw as T;
  },
});

export const list = <T>(item: Field<T>, opts: { max?: number } = {}): Field<T[]> => ({
  describe: `a list of ${item.describe}`,
  parse(raw, key) {
    if (!Array.isArray(raw)) fail(key, raw, `a list of ${item.describe}`);
    if (opts.max !== undefined && raw.length > opts.max) fail(key, raw, `at most ${opts.max} entries`);
    return raw.map((v, i) => item.parse(v, `${key}[${i}]`));
  },
});

/** A TOML table (plain object), or fail. */
export function table(raw: unknown, key: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Date) fail(key, raw, 'a table');
  return raw as Record<string, unknown>;
}

/** Applies field specs to one table: unknown keys rejected, defaults filled in. */
export function parseTable<T>(
  raw: unknown,
  key: string,
  specs: { [K in keyof T]-?: { field: Field<Exclude<T[K], undefined>>; default?: T[K] | undefined } },
): T {
  const input = raw === undefined ? {} : table(raw, key);
  const known = Object.keys(specs);
  for (const name of Object.keys(input)) {
    if (!known.includes(name)) {
      throw new ConfigError(`${key}.${name}: unknown key (known keys in ${key}: ${known.join(', ')})`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries<{ field: Field<unknown>; default?: unknown }>(specs)) {
    const value = input[name];
    if (value === undefined) {
      if (!('default' in spec)) throw new ConfigError(`${key}.${name}: required (${spec.field.describe})`);
      if (spec.default !== undefined) out[name] = spec.default;
    } else {
      out[name] = spec.field.parse(value, `${key}.${name}`);
    }
  }
  return out as T;
}
