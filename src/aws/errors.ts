// AWS SDK errors and retries in one place: code, whether a retry can help, the bounded retry, the description, the request id.

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

export interface RetryPolicy {
  maxAttempts: number;
  /** Codes transient for this call besides throttling, 5xx and network errors (isTransient's alsoCodes). */
  alsoCodes?: ReadonlySet<string>;
  sleep?: (ms: number) => Promise<void>;
  /** For the jitter; default Math.random. */
  random?: () => number;
}

/** What retryTransient throws: the last error (as cause), whether it was transient, and after how many attempts. */
export class AwsCallFailed extends Error {
  override readonly name = 'AwsCallFailed';
  constructor(
    readonly attempts: number,
    readonly transient: boolean,
    cause: unknown,
  ) {
    super(errorMessage(cause), { cause });
  }
}

/** The wait after failed attempt n: half of min(10 s, 200 ms · 2^(n-1)), plus a random part of the other half. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(10_000, 200 * 2 ** (attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/**
 * Calls until it succeeds, fails with a non-transient error, or has made maxAttempts; waits backoffMs between.
 * For calls whose transient failures the SDK's own retries do not cover (web identity: the IdP's outages);
 * clients made by aws/clients.ts already retry throttling and 5xx themselves.
 */
export async function retryTransient<T>(call: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const transient = isTransient(err, policy.alsoCodes);
      if (!transient || attempt >= policy.maxAttempts) throw new AwsCallFailed(attempt, transient, err);
      await sleep(backoffMs(attempt, policy.random));
    }
  }
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
