// The run columns both run endpoints return, and their conversion from ClickHouse rows.
import { z } from 'zod';
import { runStatusSchema, type RunStatus } from '../../ingest/event/run-event.ts';
import { sql } from '../../clickhouse/sql.ts';
import { finiteOrNull } from './run-window.ts';

export const RUN_SUMMARY_COLUMNS = sql`run_date, key, job, host, attempt, status, started_at_ms, finished_at_ms, duration_ms, exit_code,
  error_type, labels.key AS label_keys, labels.value AS label_values`;

export interface RunSummaryRow {
  run_date: string; key: string; job: string; host: string; attempt: number; status: string;
  started_at_ms: number; finished_at_ms: number | null; duration_ms: number | null; exit_code: number | null;
  error_type: string; label_keys: string[]; label_values: string[];
}

export const runSummary = z.object({
  run_date: z.string(),
  key: z.string(),
  job: z.string(),
  host: z.string(),
  attempt: z.number().int(),
  status: runStatusSchema,
  started_at_ms: z.number().int(),
  finished_at_ms: z.number().int().nullable(),
  duration_ms: z.number().nullable(),
  exit_code: z.number().int().nullable(),
  error_type: z.string(),
  labels: z.record(z.string(), z.string()),
});
export type RunSummary = z.infer<typeof runSummary>;

export function toRunSummary(row: RunSummaryRow): RunSummary {
  return {
    run_date: row.run_date,
    key: row.key,
    job: row.job,
    host: row.host,
    attempt: row.attempt,
    // The sink stores only statuses the event schema allows.
    status: row.status as RunStatus,
    started_at_ms: row.started_at_ms,
    finished_at_ms: row.finished_at_ms,
    duration_ms: finiteOrNull(row.duration_ms),
    exit_code: row.exit_code,
    error_type: row.error_type,
    labels: Object.fromEntries(row.label_keys.map((key, index) => [key, row.label_values[index] ?? ''])),
  };
}
