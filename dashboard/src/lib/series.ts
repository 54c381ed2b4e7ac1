// Turning API responses into uPlot's column-oriented data: typed arrays, x in seconds.
import type uPlot from 'uplot';
import type { TimeseriesResponse } from './api.ts';

export const STATUSES = ['succeeded', 'failed', 'timeout', 'cancelled', 'running'] as const;
export type Status = (typeof STATUSES)[number];

/**
 * A series with gaps (no data in a bucket): uPlot needs null there — a NaN in a typed
 * array would poison the path and the scale — so gappy series stay plain arrays; dense
 * ones (counts, x) are Float64Arrays.
 */
export function column(values: ReadonlyArray<number | null> | undefined, length: number): Array<number | null> {
  const out = new Array<number | null>(length);
  for (let i = 0; i < length; i++) {
    const value = values?.[i];
    out[i] = value === null || value === undefined || !Number.isFinite(value) ? null : value;
  }
  return out;
}

/** A dense count column: no data is 0. */
export function counts(values: ReadonlyArray<number | null> | undefined, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = values?.[i] ?? 0;
  return out;
}

/** The x column: bucket starts in Unix seconds. */
export function times(t: readonly number[]): Float64Array {
  return Float64Array.from(t);
}

/**
 * Counts by status stacked bottom-up (succeeded at the bottom), returned top-down so the
 * tallest bar is drawn first and each smaller one over it. `extra` adds live counts per bucket.
 */
export function stackedRuns(response: TimeseriesResponse, extra?: ReadonlyMap<number, Partial<Record<Status, number>>>): { raw: Record<Status, Float64Array>; stacked: Array<Array<number | null>> } {
  const length = response.t.length;
  const raw = {} as Record<Status, Float64Array>;
  for (const status of STATUSES) {
    raw[status] = counts(response.series[status], length);
  }
  if (extra) {
    for (const [index, counts] of extra) {
      if (index < 0 || index >= length) continue;
      for (const status of STATUSES) raw[status][index]! += counts[status] ?? 0;
    }
  }
  const stacked: Array<Array<number | null>> = [];
  const sum = new Float64Array(length);
  for (const status of STATUSES) {
    const values = raw[status];
    for (let i = 0; i < length; i++) sum[i]! += values[i]!;
    stacked.push(bars(sum));
  }
  return { raw, stacked: stacked.reverse() };
}

/** Bar heights with empty buckets as null: uPlot would draw a hairline for a 0-high bar. */
export function bars(values: ArrayLike<number>): Array<number | null> {
  return Array.from(values, (value) => (value > 0 ? value : null));
}

export function aligned(x: Float64Array, ...series: Array<Float64Array | Array<number | null>>): uPlot.AlignedData {
  return [x, ...series] as unknown as uPlot.AlignedData;
}

/** The previous period's totals, moved forward by the span so they line up with now. */
export function shiftedTotals(previous: TimeseriesResponse | null, current: TimeseriesResponse): Array<number | null> {
  const out = new Array<number | null>(current.t.length).fill(null);
  if (!previous || previous.step !== current.step) return out;
  const shift = (current.t[0] ?? 0) - (previous.t[0] ?? 0);
  const byTime = new Map<number, number>();
  previous.t.forEach((time, index) => byTime.set(time + shift, previous.series['total']?.[index] ?? 0));
  current.t.forEach((time, index) => {
    const value = byTime.get(time);
    if (value !== undefined) out[index] = value;
  });
  return out;
}
