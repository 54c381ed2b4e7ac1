// GET /api/v1/pipeline: the pipeline-health strip — how complete the data is, how far
// ingestion lags, ingest errors in the window, the live watermark's backlog and the local
// spool. Each figure is null when this instance cannot know it (no live hub, no spool).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { date, num, sql } from '../../clickhouse/sql.ts';
import { peekPosition } from '../../ingest/spool/position-file.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { rangeParams } from '../http/params.ts';
import { resolveRange } from '../http/range.ts';
import { countIngestErrors } from './ingest-errors.ts';
import type { Rollups } from './rollup-plan.ts';
import { finiteOrNull, isoDate } from './run-window.ts';

export const pipelineQuery = z.object({ ...rangeParams });
export type PipelineParams = z.output<typeof pipelineQuery>;

export const pipelineResponse = z.object({
  now_ms: z.number().int(),
  complete_until_ms: z.number().int().describe('Runs published before this are in ClickHouse (from the sink watermark when known, else now minus the configured lag).'),
  complete_until_source: z.enum(['watermark', 'configured-lag']),
  rollups_complete_until_ms: z.number().int().nullable().describe('The rollup watermark: every batch stored before it is in every rollup tier; null when this instance does not read the rollups or no maintainer ran yet.'),
  last_ingested_at_ms: z.number().int().nullable().describe('The latest ingested_at of a run (recent run dates).'),
  lag_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), runs: z.number().int() }).describe('Publish → ClickHouse of runs ingested in the last 5 minutes (whole seconds: ingested_at is a DateTime).'),
  backlog_events: z.number().int().nullable().describe('Events in Kafka the sink has not committed yet; null without a live hub.'),
  ingest_errors: z.number().int().describe('Ingest errors in the requested window.'),
  spool: z.object({ bytes: z.number().int(), segments: z.number().int() }).nullable().describe('Bytes waiting in the local spool (same machine only); null when not configured.'),
});
export type PipelineResponse = z.infer<typeof pipelineResponse>;

export interface PipelineDeps {
  runner: QueryRunner;
  nowMs: number;
  ingestLagMs: number;
  /** The live hub's view of Kafka: per partition, the next offset (head) and the sink's committed one. */
  kafka?: (() => Promise<{ head: ReadonlyMap<number, number>; committed: ReadonlyMap<number, number> }>) | undefined;
  spoolDir?: string;
  rollups?: Rollups | null;
  signal?: AbortSignal;
}

const LAG_WINDOW_S = 300;

export async function pipeline(params: PipelineParams, deps: PipelineDeps): Promise<PipelineResponse> {
  const range = resolveRange(params, deps.nowMs);
  const windowStart = sql`toDateTime(${num(Math.floor(deps.nowMs / 1000) - LAG_WINDOW_S)})`;
  // Recent run dates only: ingestion of the last days' runs is what the strip is about (a
  // backfill of old dates does not move these figures). No FINAL: every version counts.
  const recent = sql`run_date >= ${date(isoDate(deps.nowMs - 2 * 86_400_000))}`;
  const [[stats], partitions, errors, positions, spool, rollupsUntil] = await Promise.all([
    deps.runner.rows<{ last_ingested: number; n: number; p50: unknown; p95: unknown }>(
      'pipeline_lag',
      sql`SELECT toUInt32(max(ingested_at)) AS last_ingested, countIf(recent) AS n,
  quantileIf(0.5)(lag, recent) AS p50, quantileIf(0.95)(lag, recent) AS p95
FROM (SELECT ingested_at, toInt64(toUInt32(ingested_at)) * 1000 - toInt64(published_at_ms) AS lag, ingested_at >= ${windowStart} AS recent FROM runs WHERE ${recent})`,
      deps.signal,
    ),
    deps.kafka
      ? deps.runner.rows<{ p: number; last_published: number }>('pipeline_partitions', sql`SELECT kafka_partition AS p, max(published_at_ms) AS last_published FROM runs WHERE ${recent} GROUP BY p`, deps.signal)
      : Promise.resolve([]),
    countIngestErrors(range, deps),
    deps.kafka ? deps.kafka().catch(() => null) : Promise.resolve(null),
    deps.spoolDir ? spoolDepth(deps.spoolDir) : Promise.resolve(null),
    deps.rollups ? deps.rollups.watermarkMs(deps.signal) : Promise.resolve(null),
  ]);
  let backlog: number | null = null;
  let completeUntil = deps.nowMs - deps.ingestLagMs;
  let source: PipelineResponse['complete_until_source'] = 'configured-lag';
  if (positions) {
    backlog = 0;
    source = 'watermark';
    completeUntil = deps.nowMs;
    const lastPublished = new Map(partitions.map((row) => [Number(row.p), Number(row.last_published)]));
    for (const [partition, head] of positions.head) {
      const behind = Math.max(0, head - (positions.committed.get(partition) ?? 0));
      backlog += behind;
      // A partition with events not yet stored is complete up to the newest one it has stored.
      if (behind > 0) completeUntil = Math.min(completeUntil, lastPublished.get(partition) ?? 0);
    }
  }
  const lastIngested = stats && stats.last_ingested > 0 ? stats.last_ingested * 1000 : null;
  return {
    now_ms: deps.nowMs,
    complete_until_ms: completeUntil,
    complete_until_source: source,
    rollups_complete_until_ms: rollupsUntil,
    last_ingested_at_ms: lastIngested,
    lag_ms: { p50: finiteOrNull(stats?.p50), p95: finiteOrNull(stats?.p95), runs: stats?.n ?? 0 },
    backlog_events: backlog,
    ingest_errors: errors,
    spool,
  };
}

/** Bytes after the drainer's position, read without the spool's lock (a snapshot; may be a moment old). */
export async function spoolDepth(dir: string): Promise<{ bytes: number; segments: number } | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const segments = names.map((name) => /^segment-(\d{10})\.log$/.exec(name)).filter((match) => match !== null).map((match) => ({ name: match[0], seq: Number(match[1]) }));
  if (segments.length === 0) return { bytes: 0, segments: 0 };
  const position = await peekPosition(join(dir, 'position')).catch(() => null);
  let bytes = 0;
  let count = 0;
  for (const segment of segments) {
    if (position && segment.seq < position.segment) continue;
    const size = await stat(join(dir, segment.name)).then((info) => info.size, () => 0);
    const left = position && segment.seq === position.segment ? Math.max(0, size - position.offset) : size;
    bytes += left;
    if (left > 0) count++;
  }
  return { bytes, segments: count };
}
