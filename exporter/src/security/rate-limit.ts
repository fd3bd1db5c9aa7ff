// Per-client token buckets: each client may burst up to `burst` requests, refilled at `ratePerSecond`.
// The map is bounded: when full, the client seen least recently is forgotten (it gets a full bucket back,
// which only ever errs towards letting a request through).

export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
  /** Most clients remembered at once. */
  maxClients: number;
  now?: () => number;
}

interface Bucket { tokens: number; updatedMs: number }

export type Decision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get size(): number {
    return this.buckets.size;
  }

  take(client: string): Decision {
    const now = this.now();
    const { ratePerSecond, burst } = this.options;
    let bucket = this.buckets.get(client);
    if (bucket) {
      this.buckets.delete(client); // re-inserted below: Map order is least recently seen first
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * ratePerSecond);
      bucket.updatedMs = now;
    } else {
      if (this.buckets.size >= this.options.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: burst, updatedMs: now };
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond)) };
  }
}
