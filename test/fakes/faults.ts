// Injected failures per action: the next N calls throttled / failing with 500 / denied, fixed delays, a steady rate limit.

export type FaultKind = 'throttle' | 'fail500' | 'deny';

export interface Faults {
  /** Throttle the next n calls of `action` (STS Throttling, EC2 RequestLimitExceeded, SSM ThrottlingException). */
  throttle(action: string, n: number): void;
  /** Answer the next n calls of `action` with HTTP 500. */
  fail500(action: string, n: number): void;
  /** Deny the next n calls of `action` (default: every call until clear()). */
  deny(action: string, n?: number): void;
  /** Delay every call of `action` by ms before answering (0 removes it). */
  delayMs(action: string, ms: number): void;
  /** At most `perSecond` calls of `action` per second (token bucket, burst = perSecond); the rest are throttled. 0 removes it. */
  rateLimit(action: string, perSecond: number): void;
  /** Remove every injected fault. */
  clear(): void;
}

interface Bucket {
  rate: number;
  tokens: number;
  last: number;
}

export class FaultTable implements Faults {
  private readonly pending = new Map<string, Array<{ kind: FaultKind; left: number }>>();
  private readonly delays = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number) {}

  private push(action: string, kind: FaultKind, n: number): void {
    const list = this.pending.get(action) ?? [];
    list.push({ kind, left: n });
    this.pending.set(action, list);
  }

  throttle(action: string, n: number): void {
    this.push(action, 'throttle', n);
  }
  fail500(action: string, n: number): void {
    this.push(action, 'fail500', n);
  }
  deny(action: string, n = Number.POSITIVE_INFINITY): void {
    this.push(action, 'deny', n);
  }
  delayMs(action: string, ms: number): void {
    if (ms > 0) this.delays.set(action, ms);
    else this.delays.delete(action);
  }
  rateLimit(action: string, perSecond: number): void {
    if (perSecond > 0) this.buckets.set(action, { rate: perSecond, tokens: perSecond, last: this.now() });
    else this.buckets.delete(action);
  }
  clear(): void {
    this.pending.clear();
    this.delays.clear();
    this.buckets.clear();
  }

  delayFor(action: string): number {
    return this.delays.get(action) ?? 0;
  }

  /** Consumes and returns the fault this call of `action` gets, if any. */
  take(action: string): FaultKind | undefined {
    const list = this.pending.get(action);
    const head = list?.[0];
    if (list !== undefined && head !== undefined) {
      head.left -= 1;
      if (head.left <= 0) list.shift();
      if (list.length === 0) this.pending.delete(action);
      return head.kind;
    }
    const bucket = this.buckets.get(action);
    if (bucket !== undefined) {
      const now = this.now();
      bucket.tokens = Math.min(bucket.rate, bucket.tokens + ((now - bucket.last) / 1000) * bucket.rate);
      bucket.last = now;
      if (bucket.tokens < 1) return 'throttle';
      bucket.tokens -= 1;
    }
    return undefined;
  }
}
