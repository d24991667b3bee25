// AWS SDK errors in one place: their code, whether a retry can help, the operator-facing description and the request id.

export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  for (const v of [e.Code, e.name, e.code]) if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  return '';
}

/** The first line of an error's message, at most 400 characters. */
export function errorMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0]?.slice(0, 400) ?? '';
}

/** The AWS request id of an SDK error ($metadata.requestId), or undefined. */
export function requestIdOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const id = (err as { $metadata?: { requestId?: unknown } }).$metadata?.requestId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

export const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled', 'SlowDown']);
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout', 'InternalFailure', 'ServiceUnavailable']);

/** Errors of the SDK's own credential chain: the host has no usable credentials. */
export function isMissingHostCredentials(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'CredentialsProviderError' || /Could not load credentials|credential.*provider/i.test(errorMessage(err));
}

/**
 * Throttling, 5xx answers and network failures. A caller that retries more (web identity also retries the IdP's
 * outages) passes those codes as `alsoCodes`; they are matched against the error's name and its `code`, and
 * then errors AWS marks as server faults are transient too.
 */
export function isTransient(err: unknown, alsoCodes?: ReadonlySet<string>): boolean {
  const code = errorCode(err);
  if (THROTTLING.has(code) || TRANSIENT.has(code)) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (alsoCodes === undefined) return false;
  return alsoCodes.has(code) || (typeof e.code === 'string' && alsoCodes.has(e.code)) || e.$fault === 'server';
}

/** An error and its causes (`cause`), outermost first, at most `max` of them. */
export function causeChain(err: unknown, max = 5): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && out.length < max; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/**
 * "Code: message (AWS request id …)" for an operator, from the first line of the message. The code is left out when the message already starts with it
 * (or, for a network errno such as ECONNRESET, mentions it).
 */
export function describeAwsError(err: unknown): string {
  const code = errorCode(err);
  const message = errorMessage(err);
  const said = message.startsWith(code) || (/^E[A-Z0-9]+$/.test(code) && message.includes(code));
  const text = code !== '' && !said ? `${code}: ${message}` : message;
  const id = requestIdOf(err);
  return id !== undefined && !text.includes(id) ? `${text} (AWS request id ${id})` : text;
}
