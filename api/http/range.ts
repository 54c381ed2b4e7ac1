// Resolves the optional from/to parameters against the clock and checks the span.
import { badParameter } from './api-error.ts';
import { DAY_MS, MAX_RANGE_MS, type TimeRange } from './params.ts';

export function resolveRange(params: { from?: number | undefined; to?: number | undefined }, nowMs: number, defaultSpanMs = DAY_MS): TimeRange {
  const toMs = params.to ?? nowMs;
  const fromMs = params.from ?? Math.max(0, toMs - defaultSpanMs);
  if (fromMs >= toMs) throw badParameter('to', "must be after 'from'");
  if (toMs - fromMs > MAX_RANGE_MS) throw badParameter('from', `the range may span at most ${MAX_RANGE_MS / DAY_MS} days`);
  return { fromMs, toMs };
}
