// A token bucket per bearer token for the SQL console: `perMinute` queries a minute on
// average, bursts of up to a fifth of that. In memory, per API instance: it protects this
// instance and the sql user's quota from one runaway tab, not from a determined client
// (ClickHouse's quota on the sql user is the global bound).
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';

export interface RateLimiter {
  /** 0 when allowed (and taken), else the seconds until one query is allowed. */
  take(key: string, nowMs: number): number;
}

export function createRateLimiter(perMinute: number, maxKeys = 10_000): RateLimiter {
  const capacity = Math.max(1, Math.ceil(perMinute / 5));
  const refillPerMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  return {
    take(key, nowMs) {
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
        bucket = { tokens: capacity, atMs: nowMs };
        buckets.set(key, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + (nowMs - bucket.atMs) * refillPerMs);
      bucket.atMs = nowMs;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
    },
  };
}

/** Keys by the presented token (hashed: the map never holds a secret). Call after auth. */
export function checkRate(c: Context, limiter: RateLimiter, nowMs: number): void {
  const key = createHash('sha256').update(c.req.header('authorization') ?? 'anonymous').digest('base64url');
  const waitSeconds = limiter.take(key, nowMs);
  if (waitSeconds > 0) {
    c.header('Retry-After', String(waitSeconds));
    throw new HTTPException(429, { message: `limit: too many SQL console queries from this token; retry in ${waitSeconds} s` });
  }
}
