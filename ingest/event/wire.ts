// The Kafka message format of the run-events topic: compact JSON, keyed by the run's
// identity so every version of one run lands on one partition, in order.
import { describeZodError } from './build-run-event.ts';
import { quickRunEvent } from './quick-check.ts';
import { ingestErrorEventSchema, INGEST_ERROR_SCHEMA_ID, type IngestErrorEvent } from './ingest-error-event.ts';
import { runEventSchema, runIdentity, RUN_EVENT_SCHEMA_ID, type RunEvent } from './run-event.ts';

export type TopicEvent = RunEvent | IngestErrorEvent;

export interface WireMessage {
  key: string;
  value: string;
}

export function encodeEvent(event: TopicEvent): WireMessage {
  const key = event.schema === RUN_EVENT_SCHEMA_ID
    ? runIdentity(event)
    : event.run_date && event.key ? `${event.run_date}/${event.key}` : event.origin;
  return { key, value: JSON.stringify(event) };
}

export type DecodeOutcome =
  | { ok: true; event: TopicEvent }
  | { ok: false; reason: string };

/** Never throws: a foreign or corrupt message is an outcome the caller records. */
export function decodeEvent(value: Buffer | string | null): DecodeOutcome {
  if (value === null) return { ok: false, reason: 'empty message (tombstone)' };
  const text = typeof value === 'string' ? value : value.toString('utf8');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const schemaId = typeof document === 'object' && document !== null ? (document as { schema?: unknown }).schema : undefined;
  if (schemaId === RUN_EVENT_SCHEMA_ID) {
    // The quick check settles valid events; zod judges (and explains) the rest.
    const quick = quickRunEvent(document);
    if (quick) return { ok: true, event: quick };
    const parsed = runEventSchema.safeParse(document);
    return parsed.success ? { ok: true, event: parsed.data } : { ok: false, reason: `invalid run event: ${describeZodError(parsed.error)}` };
  }
  if (schemaId === INGEST_ERROR_SCHEMA_ID) {
    const parsed = ingestErrorEventSchema.safeParse(document);
    return parsed.success ? { ok: true, event: parsed.data } : { ok: false, reason: `invalid ingest-error event: ${describeZodError(parsed.error)}` };
  }
  return { ok: false, reason: `unknown schema ${JSON.stringify(schemaId)?.slice(0, 100) ?? 'undefined'}` };
}
