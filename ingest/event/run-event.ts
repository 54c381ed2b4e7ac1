// The run event: what the watcher and `publish` send to Kafka and what the sink and the
// API's live stream read back. One schema validates it on both sides of the topic, so a
// foreign or corrupted message is recognised as such instead of being half-understood.
import { z } from 'zod';

export const RUN_EVENT_SCHEMA_ID = 'runlens.run/1';

/** `[A-Za-z0-9._:-]`, 1–200 characters (../shared/legacy-layout.md). */
export const runKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'may only contain A-Z a-z 0-9 . _ : -')
  .refine((key) => key !== '.' && key !== '..', 'must not be . or ..');

/** A partition folder name: a real calendar date, YYYY-MM-DD. */
export const runDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(isCalendarDate, 'is not a calendar date');

export const runStatusSchema = z.enum(['running', 'succeeded', 'failed', 'timeout', 'cancelled']);
export type RunStatus = z.infer<typeof runStatusSchema>;

/** Milliseconds since the epoch, within what ClickHouse's DateTime can hold (1970–2105). */
const epochMsSchema = z
  .number()
  .int()
  .min(0)
  .max(4_102_444_800_000, 'is after 2100-01-01');

export const runFileSchema = z.object({
  name: z.string().min(1).max(255),
  /** The file's text, cut at the configured cap; `truncated` says whether it was. */
  content: z.string(),
  size: z.number().int().min(0),
  truncated: z.boolean(),
});
export type RunFile = z.infer<typeof runFileSchema>;

/** A numeric leaf of a result file, e.g. file `result.json`, path `timings_ms.fetch`. */
export const runMetricSchema = z.object({
  file: z.string().min(1),
  path: z.string().min(1),
  value: z.number().refine(Number.isFinite, 'must be a finite number'),
});
export type RunMetric = z.infer<typeof runMetricSchema>;

export const eventSourceSchema = z.enum(['watch', 'publish', 'simulate']);

export const runEventSchema = z.object({
  schema: z.literal(RUN_EVENT_SCHEMA_ID),
  run_date: runDateSchema,
  key: runKeySchema,
  job: z.string().min(1).max(500),
  host: z.string().max(500),
  attempt: z.number().int().min(1).max(1_000_000),
  status: runStatusSchema,
  started_at_ms: epochMsSchema,
  finished_at_ms: epochMsSchema.nullable(),
  exit_code: z.number().int().min(-2_147_483_648).max(2_147_483_647).nullable(),
  labels: z.record(z.string().max(200), z.string().max(2000)),
  error_type: z.string().max(500),
  error_message: z.string().max(10_000),
  metrics: z.array(runMetricSchema),
  /** True when the file had more numeric leaves than the cap and the rest were dropped. */
  metrics_truncated: z.boolean(),
  files: z.array(runFileSchema),
  source: eventSourceSchema,
  /** Where the event came from: a path for the watcher, the caller's name for publish. */
  origin: z.string().max(4096),
  /** The newest write among the run's files: breaks ties between versions of one attempt. */
  written_at_ms: epochMsSchema,
  published_at_ms: epochMsSchema,
});
export type RunEvent = z.infer<typeof runEventSchema>;

/** A run's identity: the same key under another date is another run. */
export function runIdentity(event: Pick<RunEvent, 'run_date' | 'key'>): string {
  return `${event.run_date}/${event.key}`;
}

/**
 * The ReplacingMergeTree version: newest attempt first, then the latest write.
 * 10^13 ms is past the year 2286, so the write time never spills into the attempt digits,
 * and attempt ≤ 1,000,000 keeps the product inside UInt64.
 */
export function runVersion(event: Pick<RunEvent, 'attempt' | 'written_at_ms'>): bigint {
  return BigInt(event.attempt) * 10_000_000_000_000n + BigInt(event.written_at_ms);
}

export function isCalendarDate(text: string): boolean {
  const parsed = new Date(`${text}T00:00:00.000Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(text);
}
