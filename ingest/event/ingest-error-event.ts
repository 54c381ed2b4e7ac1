// What could not be ingested, where it came from and why. Travels on the run-events topic
// beside the runs themselves, so the watcher needs nothing but Kafka (and its spool) to
// report a problem, and the sink files it into ClickHouse's `ingest_errors`.
import { z } from 'zod';

export const INGEST_ERROR_SCHEMA_ID = 'runlens.ingest-error/1';

export const ingestErrorEventSchema = z.object({
  schema: z.literal(INGEST_ERROR_SCHEMA_ID),
  occurred_at_ms: z.number().int().min(0),
  source: z.enum(['watch', 'publish', 'simulate', 'sink']),
  /** A path under the run tree, a caller's name, or `topic/partition/offset` for the sink. */
  origin: z.string().max(4096),
  /** Empty when the run could not be identified at all. */
  run_date: z.string().max(64),
  key: z.string().max(1024),
  file: z.string().max(1024),
  /** `incomplete` will be read again; `invalid` needs the file to change; `foreign` is not ours. */
  kind: z.enum(['incomplete', 'invalid', 'foreign']),
  reason: z.string().max(4096),
});
export type IngestErrorEvent = z.infer<typeof ingestErrorEventSchema>;
