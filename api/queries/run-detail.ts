// GET /api/v1/runs/:date/:key: every stored version of one run (attempts, and the
// running → final versions of an attempt), newest first, with files, labels and metrics.
// No FINAL: the point is to see the versions ReplacingMergeTree has not folded yet.
// A version redelivered by Kafka is stored twice until a merge; LIMIT 1 BY version shows it once.
import { z } from 'zod';
import { date, sql, str } from '../../clickhouse/sql.ts';
import { runDateSchema, runKeySchema } from '../../ingest/event/run-event.ts';
import type { QueryRunner } from '../clickhouse/query-runner.ts';
import { notFound } from '../http/api-error.ts';
import { RUN_SUMMARY_COLUMNS, runSummary, toRunSummary, type RunSummaryRow } from './run-fields.ts';
import { finiteOrNull } from './run-window.ts';

export const runDetailPath = z.object({
  date: runDateSchema.meta({ description: 'The run date (its folder), YYYY-MM-DD.' }),
  key: runKeySchema.meta({ description: 'The run key.' }),
});
export type RunDetailParams = z.output<typeof runDetailPath>;

export const runVersion = runSummary.extend({
  version: z.string().describe('The ReplacingMergeTree version (attempt × 10^13 + written_at_ms), a UInt64 as text.'),
  error_message: z.string(),
  metrics: z.array(z.object({ file: z.string(), path: z.string(), value: z.number().nullable() })),
  metrics_truncated: z.boolean(),
  files: z.array(z.object({ name: z.string(), content: z.string(), truncated: z.boolean(), size: z.number().int() })),
  source: z.string(),
  origin: z.string(),
  written_at_ms: z.number().int(),
  published_at_ms: z.number().int(),
  ingested_at: z.number().int().describe('Unix seconds.'),
});
export const runDetailResponse = z.object({
  run_date: z.string(),
  key: z.string(),
  versions: z.array(runVersion).describe('Newest version first; the first is what the other endpoints show.'),
});
export type RunDetailResponse = z.infer<typeof runDetailResponse>;

type Row = RunSummaryRow & {
  version: string; error_message: string;
  metric_files: string[]; metric_paths: string[]; metric_values: unknown[]; metrics_truncated: number;
  file_names: string[]; file_contents: string[]; file_sizes: number[]; file_truncated: number[];
  source: string; origin: string; written_at_ms: number; published_at_ms: number; ingested_at: number;
};

export async function runDetail(params: RunDetailParams, deps: { runner: QueryRunner; signal?: AbortSignal }): Promise<RunDetailResponse> {
  const rows = await deps.runner.rows<Row>(
    'run_detail',
    sql`SELECT ${RUN_SUMMARY_COLUMNS}, toString(version) AS version, error_message,
  metrics.file AS metric_files, metrics.path AS metric_paths, metrics.value AS metric_values, metrics_truncated,
  files.name AS file_names, files.content AS file_contents, files.size AS file_sizes, files.truncated AS file_truncated,
  source, origin, written_at_ms, published_at_ms, toUInt32(ingested_at) AS ingested_at
FROM runs WHERE run_date = ${date(params.date)} AND key = ${str(params.key)}
ORDER BY version DESC LIMIT 1 BY version`,
    deps.signal,
  );
  if (rows.length === 0) throw notFound(`no run ${params.date}/${params.key}`);
  return {
    run_date: params.date,
    key: params.key,
    versions: rows.map((row) => ({
      ...toRunSummary(row),
      version: row.version,
      error_message: row.error_message,
      metrics: row.metric_files.map((file, index) => ({ file, path: row.metric_paths[index] ?? '', value: finiteOrNull(row.metric_values[index]) })),
      metrics_truncated: row.metrics_truncated === 1,
      files: row.file_names.map((name, index) => ({
        name,
        content: row.file_contents[index] ?? '',
        truncated: row.file_truncated[index] === 1,
        size: row.file_sizes[index] ?? 0,
      })),
      source: row.source,
      origin: row.origin,
      written_at_ms: row.written_at_ms,
      published_at_ms: row.published_at_ms,
      ingested_at: row.ingested_at,
    })),
  };
}
