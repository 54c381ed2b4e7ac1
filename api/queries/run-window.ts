// WHERE clauses shared by the queries over `runs`: the time window and the filters.
// Every value goes through clickhouse/sql.ts; nothing here builds SQL text by hand.
import { date, join, num, sql, str, type SqlFragment } from '../../clickhouse/sql.ts';
import { DAY_MS, type Filters, type TimeRange } from '../http/params.ts';

/**
 * Runs that started in [from, to). `run_date` is the partition and primary-key column, so
 * it is filtered too (a started_at-only filter scans every partition, §A of the 18.16
 * notes). run_date is the run folder's local date, which can differ from the UTC start
 * by up to a day either way, hence the one-day margin on both sides.
 */
export function startedWithin({ fromMs, toMs }: TimeRange): SqlFragment {
  const firstDay = isoDate(Math.max(0, fromMs - DAY_MS));
  const lastDay = isoDate(toMs + DAY_MS);
  return sql`run_date BETWEEN ${date(firstDay)} AND ${date(lastDay)} AND started_at_ms >= ${num(fromMs)} AND started_at_ms < ${num(toMs)}`;
}

export function filterConditions(filters: Filters): SqlFragment[] {
  const conditions: SqlFragment[] = [];
  if (filters.job !== undefined) conditions.push(sql`job = ${str(filters.job)}`);
  if (filters.host !== undefined) conditions.push(sql`host = ${str(filters.host)}`);
  if (filters.status !== undefined) conditions.push(sql`status = ${str(filters.status)}`);
  for (const label of filters.label ?? []) {
    // Label keys are unique per run (they come from a JSON object), so indexOf finds the one.
    conditions.push(sql`has(labels.key, ${str(label.key)}) AND labels.value[indexOf(labels.key, ${str(label.key)})] = ${str(label.value)}`);
  }
  return conditions;
}

/** `a AND b AND c`, or `1` when there is nothing to require. */
export function allOf(conditions: readonly SqlFragment[]): SqlFragment {
  return conditions.length === 0 ? sql`1` : join(conditions.map((condition) => sql`(${condition})`), ' AND ');
}

/** Statuses that count as a failure in rates: the run ended without succeeding on its own. */
export const FAILURE_STATUSES = sql`('failed', 'timeout')`;

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** ClickHouse JSON gives NaN/inf as null or a string; only finite numbers pass. */
export function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
