// Which rollup rows answer a request, and whether they can at all.
//
// The rollup tables (clickhouse/README.md) hold runs per bucket × dimension × value ×
// status at four tiers: minute, hour, day and (runs only) calendar month. A time range is
// cut into segments, each read from the coarsest tier that fits it: the whole months from
// the month tier, the days left at either end from the day tier, then hours, then minutes.
// A 1-year range is then 11 month buckets plus about a month of day buckets, a day of hour
// buckets and two hours of minute buckets, all in one UNION ALL query, and never `runs`.
//
// A request the rollups cannot answer exactly gets null and goes to `runs` instead:
// filters on two dimensions at once (job AND host), a label key that is not rolled up, a
// key prefix, an edge inside a minute, or minutes older than the minute tier keeps.
import { dateTime, sql, type SqlFragment, str } from '../../clickhouse/sql.ts';
import { oldestKeptMonth } from '../../ingest/rollup/tiers.ts';
import type { Filters, TimeRange } from '../http/params.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';

export type RollupTier = 'minute' | 'hour' | 'day' | 'month';
const TIER_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const FINER: Record<RollupTier, RollupTier[]> = {
  month: ['month', 'day', 'hour', 'minute'],
  day: ['day', 'hour', 'minute'],
  hour: ['hour', 'minute'],
  minute: ['minute'],
};

/** The start of the tier's bucket holding `ms` (UTC), or of the next one (`up`, unless `ms` starts one). */
function bucketEdge(ms: number, tier: RollupTier, direction: 'down' | 'up'): number {
  if (tier !== 'month') {
    const width = TIER_MS[tier];
    return (direction === 'down' ? Math.floor(ms / width) : Math.ceil(ms / width)) * width;
  }
  const at = new Date(ms);
  const start = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1);
  return direction === 'down' || start === ms ? start : Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
}

export interface RollupSettings {
  /** RUNLENS_ROLLUP_LABEL_KEYS of the sink that maintains the rollups. */
  labelKeys: readonly string[];
  /** RUNLENS_RETENTION_MINUTE_DAYS of the maintainer (0 = forever). */
  minuteRetentionDays: number;
  /**
   * The server's day and hour buckets start at UTC midnight / UTC hours (checked at
   * start by startApi). The API's buckets are UTC, so only then may the day tier be summed
   * into them; without hour alignment the rollups are not used at all.
   */
  dayTier: boolean;
}

/** The rollups as the API reads them: the settings and the maintainer's watermark. */
export interface Rollups {
  readonly settings: RollupSettings;
  /** Epoch ms of `complete_until` (every batch stored before it is in every tier); null when no maintainer ever ran. */
  watermarkMs(signal?: AbortSignal): Promise<number | null>;
}

/** A watermark reader that asks ClickHouse at most once per `cacheMs` (an older watermark is only more cautious). */
export function createRollups(settings: RollupSettings, runner: QueryRunner, clock: () => number, cacheMs = 1_000): Rollups {
  let cached: { atMs: number; value: Promise<number | null> } | null = null;
  return {
    settings,
    watermarkMs(signal) {
      const now = clock();
      if (cached && now - cached.atMs < cacheMs) return cached.value;
      const value = runner
        .rows<{ s: number }>('rollup_watermark', sql`SELECT toUInt64(maxIf(value, name = 'complete_until')) AS s FROM rollup_state`, signal)
        .then((rows) => (rows[0] && Number(rows[0].s) > 0 ? Number(rows[0].s) * 1000 : null));
      cached = { atMs: now, value };
      value.catch(() => {
        if (cached?.value === value) cached = null;
      });
      return value;
    },
  };
}

export interface Segment {
  tier: RollupTier;
  fromMs: number;
  toMs: number;
}

/**
 * [from, to) cut into segments of the coarsest tiers whose buckets fit inside it, never
 * coarser than `coarsest`. Null when an edge is not on a whole minute.
 */
export function planSegments(range: TimeRange, coarsest: RollupTier): Segment[] | null {
  if (range.fromMs % TIER_MS.minute !== 0 || range.toMs % TIER_MS.minute !== 0 || range.fromMs >= range.toMs) return null;
  const tiers = FINER[coarsest];
  const segments: Segment[] = [];
  const cut = (fromMs: number, toMs: number, level: number): void => {
    if (fromMs >= toMs) return;
    const tier = tiers[level]!;
    const start = bucketEdge(fromMs, tier, 'up');
    const end = bucketEdge(toMs, tier, 'down');
    if (start >= end) {
      cut(fromMs, toMs, level + 1);
      return;
    }
    cut(fromMs, start, level + 1);
    segments.push({ tier, fromMs: start, toMs: end });
    cut(end, toMs, level + 1);
  };
  cut(range.fromMs, range.toMs, 0);
  return segments.sort((a, b) => a.fromMs - b.fromMs);
}

/** The coarsest tier whose buckets nest inside buckets of `stepSeconds` (UTC-aligned). */
export function coarsestTierForStep(stepSeconds: number, settings: RollupSettings): RollupTier {
  if (settings.dayTier && stepSeconds % 86_400 === 0) return 'day';
  if (stepSeconds % 3600 === 0) return 'hour';
  return 'minute';
}

/**
 * Whether every minute segment is still kept by the minute tier. The tier drops whole
 * months of run_date; a run's start can be a day off its run_date, hence the margin.
 */
export function minutesKept(segments: readonly Segment[], settings: RollupSettings, nowMs: number): boolean {
  const oldest = oldestKeptMonth(settings.minuteRetentionDays, nowMs);
  if (oldest === null) return true;
  const firstKeptMs = Date.UTC(Math.floor(oldest / 100), (oldest % 100) - 1, 1);
  return segments.every((segment) => segment.tier !== 'minute' || segment.fromMs - TIER_MS.day >= firstKeptMs);
}

/** One rolled-up dimension and its value, e.g. job = 'invoice-sync'; `all` is the total. */
export interface DimensionFilter {
  dimension: string;
  value: string;
}

/**
 * The single dimension the filters select (job, host or one rolled-up label), `all`
 * without any, or null when the rollups hold no such combination. `status` is a column
 * of every rollup row, so it combines with anything.
 */
export function dimensionOf(filters: Filters, settings: RollupSettings): DimensionFilter | null {
  const chosen: DimensionFilter[] = [];
  if (filters.job !== undefined) chosen.push({ dimension: 'job', value: filters.job });
  if (filters.host !== undefined) chosen.push({ dimension: 'host', value: filters.host });
  for (const label of filters.label ?? []) {
    // A run without the label is rolled up under value '': an empty value cannot be told apart.
    if (!settings.labelKeys.includes(label.key) || label.value === '') return null;
    chosen.push({ dimension: `label.${label.key}`, value: label.value });
  }
  if (chosen.length > 1) return null;
  return chosen[0] ?? { dimension: 'all', value: '' };
}

/** A rollup table family: its table per tier (names from this fixed list only; metrics have no month tier, durations only a day tier). */
export interface RollupFamily {
  tables: { [tier in RollupTier]?: SqlFragment };
}

export const runsRollup: RollupFamily = {
  tables: { minute: sql`rollup_runs_minute`, hour: sql`rollup_runs_hour`, day: sql`rollup_runs_day`, month: sql`rollup_runs_month` },
};

/** The day tier's durations summed over statuses (migration 0008): duration series by whole days without a status filter. */
export const durationsRollup: RollupFamily = {
  tables: { day: sql`rollup_durations_day` },
};

export const metricsRollup: RollupFamily = {
  tables: { minute: sql`rollup_metrics_minute`, hour: sql`rollup_metrics_hour`, day: sql`rollup_metrics_day` },
};

/**
 * `SELECT <columns> FROM <the newest rows of the tier in the segment>` per segment, joined
 * by UNION ALL. `columns` may name any column of the family's tables.
 *
 * The newest rows are those of the newest generation of their (run_date, bucket): every
 * recompute rewrites each (run_date, bucket) it touches whole, every key of it with one
 * generation, zero rows included (ingest/rollup/recompute.ts), so the newest generation
 * of a key is the newest of its (run_date, bucket). That is what ReplacingMergeTree's
 * FINAL keeps, found with a GROUP BY over a few hundred (run_date, bucket) pairs instead
 * of one over every key: a year of every job's day rows (570 k keys) took 300 ms to
 * deduplicate per key with argMax on 18.16 and 50 ms this way (clickhouse/README.md,
 * Reading the newest generation). Every condition is on sorting-key columns (bucket,
 * dimension, value, status; job/file/path for metrics), so it selects whole keys and the
 * answer stays exact (the FINAL trap in clickhouse/README.md is about non-key columns).
 * GLOBAL IN: on a cluster the pairs are found across shards once, then sent to each shard
 * (a plain IN over a Distributed table would be refused as a double-distributed query).
 */
export function unionOfSegments(segments: readonly Segment[], family: RollupFamily, columns: SqlFragment, where: SqlFragment): SqlFragment {
  const parts = segments.map((segment) => {
    const table = family.tables[segment.tier];
    if (!table) throw new Error(`the rollup has no ${segment.tier} tier`);
    const selected = sql`bucket >= ${dateTime(segment.fromMs)} AND bucket < ${dateTime(segment.toMs)} AND ${where}`;
    return sql`SELECT ${columns} FROM ${table}
  WHERE ${selected}
    AND (run_date, bucket, generation) GLOBAL IN (SELECT run_date, bucket, max(generation) FROM ${table} WHERE ${selected} GROUP BY run_date, bucket)`;
  });
  return sql`${parts.reduce((all, part, index) => (index === 0 ? part : sql`${all}
  UNION ALL
  ${part}`))}`;
}

/** `dimension = … AND value = …` */
export function dimensionWhere(filter: DimensionFilter): SqlFragment {
  return sql`dimension = ${str(filter.dimension)} AND value = ${str(filter.value)}`;
}

/**
 * The window a rollup answer counts for [from, to): outward to whole minutes, and to whole
 * hours at an edge whose minute the minute tier no longer keeps (a year back, say), so
 * that both edges fall in a tier that holds them. Every run of [from, to) is inside; the
 * responses report the window counted.
 */
export function toRollupWindow(range: TimeRange, settings: RollupSettings, nowMs: number): TimeRange {
  return { fromMs: rollupEdge(range.fromMs, 'down', settings, nowMs), toMs: rollupEdge(range.toMs, 'up', settings, nowMs) };
}

/** One edge of toRollupWindow: to the minute, or to the hour where minutes are gone. */
export function rollupEdge(ms: number, direction: 'down' | 'up', settings: RollupSettings, nowMs: number): number {
  const round = (width: number) => (direction === 'down' ? Math.floor(ms / width) : Math.ceil(ms / width)) * width;
  const minute = round(TIER_MS.minute);
  const firstMinute = direction === 'down' ? minute : minute - TIER_MS.minute;
  const kept = minutesKept([{ tier: 'minute', fromMs: firstMinute, toMs: firstMinute + TIER_MS.minute }], settings, nowMs);
  return kept ? minute : round(TIER_MS.hour);
}
