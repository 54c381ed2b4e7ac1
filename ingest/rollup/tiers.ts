// The rollup tables, their tiers, and which run_dates each tier still keeps.
import type { RetentionDays } from '../config.ts';

export const TIERS = ['minute', 'hour', 'day'] as const;
export type Tier = (typeof TIERS)[number];

export const ROLLUP_TABLES = [
  'rollup_runs_minute', 'rollup_runs_hour', 'rollup_runs_day', 'rollup_runs_month',
  'rollup_metrics_minute', 'rollup_metrics_hour', 'rollup_metrics_day',
  'rollup_durations_day',
] as const;
export type RollupTable = (typeof ROLLUP_TABLES)[number];

/** Every table retention applies to, with the retention setting that governs it. */
export const RETAINED_TABLES = [
  { table: 'runs', days: 'runs' },
  { table: 'rollup_runs_minute', days: 'minute' },
  { table: 'rollup_metrics_minute', days: 'minute' },
  { table: 'rollup_runs_hour', days: 'hour' },
  { table: 'rollup_metrics_hour', days: 'hour' },
  { table: 'rollup_runs_day', days: 'day' },
  { table: 'rollup_metrics_day', days: 'day' },
  // Summed from the day tier: kept as long as it, its run_date months being the same.
  { table: 'rollup_runs_month', days: 'day' },
  { table: 'rollup_durations_day', days: 'day' },
] as const satisfies ReadonlyArray<{ table: string; days: keyof RetentionDays }>;

/**
 * The oldest month (YYYYMM) a table with this retention keeps, or null for "forever".
 * A month is dropped once its last day is more than `days` days before `today`.
 */
export function oldestKeptMonth(days: number, todayMs: number): number | null {
  if (days === 0) return null;
  const cutoff = new Date(todayMs - days * 86_400_000);
  // The month holding the cutoff still has days inside the window: it is kept.
  return cutoff.getUTCFullYear() * 100 + cutoff.getUTCMonth() + 1;
}

/** YYYYMM of a YYYY-MM-DD run_date. */
export function monthOf(runDate: string): number {
  return Number(runDate.slice(0, 4)) * 100 + Number(runDate.slice(5, 7));
}

/** Whether a run_date's month is still kept under a retention of `days`. */
export function isKept(runDate: string, days: number, todayMs: number): boolean {
  const oldest = oldestKeptMonth(days, todayMs);
  return oldest === null || monthOf(runDate) >= oldest;
}
