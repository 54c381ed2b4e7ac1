// Run events for rollup tests: small (no files), fully controlled fields.
import type { RunEvent } from '../../ingest/event/run-event.ts';

export interface RunVersion {
  runDate: string;
  key: string;
  job: string;
  host: string;
  attempt: number;
  status: RunEvent['status'];
  startedAtMs: number;
  /** null while running */
  durationMs: number | null;
  writtenAtMs: number;
  labels: Record<string, string>;
  metrics: Array<{ path: string; value: number }>;
}

export function runEvent(version: RunVersion): RunEvent {
  return {
    schema: 'runlens.run/1',
    run_date: version.runDate,
    key: version.key,
    job: version.job,
    host: version.host,
    attempt: version.attempt,
    status: version.status,
    started_at_ms: version.startedAtMs,
    finished_at_ms: version.durationMs === null ? null : version.startedAtMs + version.durationMs,
    exit_code: version.status === 'running' ? null : version.status === 'succeeded' ? 0 : 1,
    labels: version.labels,
    error_type: '',
    error_message: '',
    metrics: version.metrics.map((metric) => ({ file: 'result.json', path: metric.path, value: metric.value })),
    metrics_truncated: false,
    files: [],
    source: 'publish',
    origin: 'rollup-test',
    written_at_ms: version.writtenAtMs,
    published_at_ms: version.writtenAtMs,
  };
}

export function utcMs(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}
