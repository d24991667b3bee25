// Recognises AWS SDK errors by code and says what an operator should do about them.

export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  for (const v of [e.Code, e.name, e.code]) if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  return '';
}

export function errorMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0]?.slice(0, 400) ?? '';
}

export const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled', 'SlowDown']);

/** Errors of the SDK's own credential chain: the host has no usable credentials. */
export function isMissingHostCredentials(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'CredentialsProviderError' || /Could not load credentials|credential.*provider/i.test(errorMessage(err));
}

export function isTransient(err: unknown): boolean {
  const code = errorCode(err);
  if (THROTTLING.has(code)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout', 'InternalFailure', 'ServiceUnavailable'].includes(code);
}
