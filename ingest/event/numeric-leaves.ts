// The numeric leaves of a result document, as (path, value) pairs an operator can chart:
// `{"timings_ms":{"fetch":812.4}}` gives `timings_ms.fetch = 812.4`; array elements are
// addressed by index (`top_accounts.0.revenue`).
import type { RunMetric } from './run-event.ts';

export interface LeafLimits {
  /** Leaves beyond this many are dropped (and reported as truncated). */
  maxLeaves: number;
  /** Deeper leaves are ignored: a 100-level document should not cost a 100-deep walk per leaf. */
  maxDepth: number;
}

export interface NumericLeaves {
  metrics: RunMetric[];
  truncated: boolean;
}

export function collectNumericLeaves(file: string, document: unknown, limits: LeafLimits): NumericLeaves {
  const metrics: RunMetric[] = [];
  let truncated = false;
  // Iterative walk: arbitrarily deep input must not overflow the stack.
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value: document, path: '', depth: 0 }];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (typeof value === 'number') {
      if (path !== '' && Number.isFinite(value)) {
        if (metrics.length >= limits.maxLeaves) {
          truncated = true;
          break;
        }
        metrics.push({ file, path, value });
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || depth >= limits.maxDepth) continue;
    const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
    // Pushed in reverse so leaves come out in document order.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [name, child] = entries[i]!;
      pending.push({ value: child, path: path === '' ? name : `${path}.${name}`, depth: depth + 1 });
    }
  }
  return { metrics, truncated };
}
