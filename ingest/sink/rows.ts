// Kafka messages → ClickHouse rows. Every message becomes exactly one row somewhere:
// a run version in `runs`, or an entry in `ingest_errors` (reported problems, and messages
// that are not ours or not valid), so nothing on the topic is dropped silently.
import { runVersion, RUN_EVENT_SCHEMA_ID, type RunEvent } from '../event/run-event.ts';
import type { IngestErrorEvent } from '../event/ingest-error-event.ts';
import { decodeEvent } from '../event/wire.ts';

export interface KafkaPosition {
  topic: string;
  partition: number;
  offset: string;
  /** The broker's message timestamp (ms), used when the message itself says nothing. */
  timestampMs: number;
}

export const RUN_COLUMNS = [
  'run_date', 'key', 'job', 'host', 'attempt', 'status',
  'started_at', 'started_at_ms', 'finished_at', 'finished_at_ms', 'duration_ms', 'exit_code',
  'labels.key', 'labels.value',
  'metrics.file', 'metrics.path', 'metrics.value', 'metrics_truncated',
  'error_type', 'error_message',
  'files.name', 'files.content', 'files.size', 'files.truncated',
  'source', 'origin', 'written_at_ms', 'published_at_ms', 'ingested_at',
  'kafka_topic', 'kafka_partition', 'kafka_offset', 'version',
] as const;

export const INGEST_ERROR_COLUMNS = [
  'occurred_at', 'occurred_at_ms', 'source', 'origin', 'run_date', 'key', 'file', 'kind', 'reason',
  'ingested_at', 'kafka_topic', 'kafka_partition', 'kafka_offset',
] as const;

export type RunRow = Record<(typeof RUN_COLUMNS)[number], unknown>;
export type IngestErrorRow = Record<(typeof INGEST_ERROR_COLUMNS)[number], unknown>;

export type RoutedMessage = { table: 'runs'; row: RunRow } | { table: 'ingest_errors'; row: IngestErrorRow };

export function routeMessage(value: Buffer | null, position: KafkaPosition, nowMs: number): RoutedMessage {
  const decoded = decodeEvent(value);
  if (!decoded.ok) {
    return {
      table: 'ingest_errors',
      row: errorRow(
        {
          occurred_at_ms: position.timestampMs,
          source: 'sink',
          origin: `${position.topic}/${position.partition}/${position.offset}`,
          run_date: '',
          key: '',
          file: '',
          kind: 'foreign',
          reason: decoded.reason.slice(0, 4096),
        },
        position,
        nowMs,
      ),
    };
  }
  const event = decoded.event;
  if (event.schema === RUN_EVENT_SCHEMA_ID) return { table: 'runs', row: runRow(event, position, nowMs) };
  return { table: 'ingest_errors', row: errorRow(event, position, nowMs) };
}

function runRow(event: RunEvent, position: KafkaPosition, nowMs: number): RunRow {
  const labels = Object.entries(event.labels).sort(([a], [b]) => a.localeCompare(b));
  return {
    run_date: event.run_date,
    key: event.key,
    job: event.job,
    host: event.host,
    attempt: event.attempt,
    status: event.status,
    started_at: seconds(event.started_at_ms),
    started_at_ms: event.started_at_ms,
    finished_at: event.finished_at_ms === null ? null : seconds(event.finished_at_ms),
    finished_at_ms: event.finished_at_ms,
    duration_ms: event.finished_at_ms === null ? null : Math.max(0, event.finished_at_ms - event.started_at_ms),
    exit_code: event.exit_code,
    'labels.key': labels.map(([key]) => key),
    'labels.value': labels.map(([, value]) => value),
    'metrics.file': event.metrics.map((metric) => metric.file),
    'metrics.path': event.metrics.map((metric) => metric.path),
    'metrics.value': event.metrics.map((metric) => metric.value),
    metrics_truncated: event.metrics_truncated ? 1 : 0,
    error_type: event.error_type,
    error_message: event.error_message,
    'files.name': event.files.map((file) => file.name),
    'files.content': event.files.map((file) => file.content),
    'files.size': event.files.map((file) => file.size),
    'files.truncated': event.files.map((file) => (file.truncated ? 1 : 0)),
    source: event.source,
    origin: event.origin,
    written_at_ms: event.written_at_ms,
    published_at_ms: event.published_at_ms,
    ingested_at: seconds(nowMs),
    kafka_topic: position.topic,
    kafka_partition: position.partition,
    kafka_offset: position.offset,
    // A string: UInt64 beyond 2^53 must not pass through a JS number.
    version: runVersion(event).toString(),
  };
}

function errorRow(
  event: Omit<IngestErrorEvent, 'schema'>,
  position: KafkaPosition,
  nowMs: number,
): IngestErrorRow {
  return {
    occurred_at: seconds(event.occurred_at_ms),
    occurred_at_ms: event.occurred_at_ms,
    source: event.source,
    origin: event.origin,
    run_date: event.run_date,
    key: event.key,
    file: event.file,
    kind: event.kind,
    reason: event.reason,
    ingested_at: seconds(nowMs),
    kafka_topic: position.topic,
    kafka_partition: position.partition,
    kafka_offset: position.offset,
  };
}

/** DateTime as Unix seconds: unambiguous on every server version, whatever its time zone. */
function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
