// What a browser receives for one run event: identity, state and timing, never the files
// or metrics (a run event may carry hundreds of KB of file text; a summary is ~300 bytes).
import { runIdentity, runVersion, type RunEvent, type RunStatus } from '../../ingest/event/run-event.ts';

export interface LiveRun {
  /** The run's identity, `run_date/key`: the same key under another date is another run. */
  id: string;
  run_date: string;
  key: string;
  job: string;
  host: string;
  status: RunStatus;
  attempt: number;
  started_at_ms: number;
  finished_at_ms: number | null;
  duration_ms: number | null;
  exit_code: number | null;
  error_type: string;
  labels: Record<string, string>;
  /** With `attempt`, orders the versions of one run (ingest/event/run-event.ts runVersion). */
  written_at_ms: number;
  /** runs.version in ClickHouse, as a decimal string (it exceeds 2^53). */
  version: string;
  /** When the event was handed to Kafka: lets a client measure delivery latency. */
  published_at_ms: number;
}

export function summarize(event: RunEvent): LiveRun {
  return {
    id: runIdentity(event),
    run_date: event.run_date,
    key: event.key,
    job: event.job,
    host: event.host,
    status: event.status,
    attempt: event.attempt,
    started_at_ms: event.started_at_ms,
    finished_at_ms: event.finished_at_ms,
    duration_ms: event.finished_at_ms === null ? null : Math.max(0, event.finished_at_ms - event.started_at_ms),
    exit_code: event.exit_code,
    error_type: event.error_type,
    labels: event.labels,
    written_at_ms: event.written_at_ms,
    version: runVersion(event).toString(),
    published_at_ms: event.published_at_ms,
  };
}
