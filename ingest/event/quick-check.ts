// The run event and run.json checks of the hot path, written out by hand. zod stays the
// definition and the judge: these functions accept only documents the schemas accept and
// return what the schemas would return (the known fields, in schema order); anything
// they are not sure about (a wrong field, an unusual shape) returns null, and the caller
// asks zod, which then accepts or names the problem exactly as before. Why: the sink
// decodes every message and the watcher builds every run, and zod's generic walk was
// ~10 µs of a ~25 µs event in the profiles (bench: end-to-end ingest, backfill).
// test/ingest/event/quick-check.test.ts holds them to the schemas with arbitrary input.
import { isCalendarDate, RUN_EVENT_SCHEMA_ID, type RunEvent, type RunFile, type RunMetric, type RunStatus } from './run-event.ts';
import { parseIsoTimestamp, type RunHeader } from './run-header.ts';

const KEY = /^[A-Za-z0-9._:-]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_EPOCH_MS = 4_102_444_800_000;
const STATUSES: ReadonlySet<string> = new Set<RunStatus>(['running', 'succeeded', 'failed', 'timeout', 'cancelled']);
const SOURCES: ReadonlySet<string> = new Set<RunEvent['source']>(['watch', 'publish', 'simulate']);

/** A RunEvent when `document` certainly is one (as runEventSchema would parse it), else null. */
export function quickRunEvent(document: unknown): RunEvent | null {
  if (!isPlainObject(document)) return null;
  const d = document as Record<string, unknown>;
  if (d['schema'] !== RUN_EVENT_SCHEMA_ID) return null;
  const runDate = d['run_date'];
  const key = d['key'];
  const job = d['job'];
  const host = d['host'];
  const attempt = d['attempt'];
  const status = d['status'];
  const startedAt = d['started_at_ms'];
  const finishedAt = d['finished_at_ms'];
  const exitCode = d['exit_code'];
  const errorType = d['error_type'];
  const errorMessage = d['error_message'];
  const metricsTruncated = d['metrics_truncated'];
  const source = d['source'];
  const origin = d['origin'];
  const writtenAt = d['written_at_ms'];
  const publishedAt = d['published_at_ms'];
  if (!isRunDate(runDate) || !isKey(key)) return null;
  if (!isString(job, 1, 500) || !isString(host, 0, 500)) return null;
  if (!isInt(attempt, 1, 1_000_000) || typeof status !== 'string' || !STATUSES.has(status)) return null;
  if (!isInt(startedAt, 0, MAX_EPOCH_MS) || !(finishedAt === null || isInt(finishedAt, 0, MAX_EPOCH_MS))) return null;
  if (!(exitCode === null || isInt(exitCode, -2_147_483_648, 2_147_483_647))) return null;
  const labels = quickLabels(d['labels']);
  if (labels === null) return null;
  if (!isString(errorType, 0, 500) || !isString(errorMessage, 0, 10_000)) return null;
  const metrics = quickMetrics(d['metrics']);
  if (metrics === null || typeof metricsTruncated !== 'boolean') return null;
  const files = quickFiles(d['files']);
  if (files === null) return null;
  if (typeof source !== 'string' || !SOURCES.has(source) || !isString(origin, 0, 4096)) return null;
  if (!isInt(writtenAt, 0, MAX_EPOCH_MS) || !isInt(publishedAt, 0, MAX_EPOCH_MS)) return null;
  return {
    schema: RUN_EVENT_SCHEMA_ID,
    run_date: runDate,
    key,
    job,
    host,
    attempt,
    status: status as RunStatus,
    started_at_ms: startedAt,
    finished_at_ms: finishedAt,
    exit_code: exitCode,
    labels,
    error_type: errorType,
    error_message: errorMessage,
    metrics,
    metrics_truncated: metricsTruncated,
    files,
    source: source as RunEvent['source'],
    origin,
    written_at_ms: writtenAt,
    published_at_ms: publishedAt,
  };
}

/** run.json's header, with its times parsed, when it certainly is valid (as runHeaderSchema would parse it), else null. */
export function quickRunHeader(document: unknown): { header: RunHeader; startedAtMs: number; finishedAtMs: number | null } | null {
  if (!isPlainObject(document)) return null;
  const d = document as Record<string, unknown>;
  const key = d['key'];
  const job = d['job'];
  const host = d['host'];
  const attempt = d['attempt'];
  const status = d['status'];
  const startedAt = d['started_at'];
  const finishedAt = d['finished_at'];
  const exitCode = d['exit_code'];
  if (!isKey(key) || !isString(job, 1, 500) || !isString(host, 0, 500)) return null;
  if (!isInt(attempt, 1, 1_000_000) || typeof status !== 'string' || !STATUSES.has(status)) return null;
  const startedAtMs = typeof startedAt === 'string' ? parseIsoTimestamp(startedAt) : null;
  if (startedAtMs === null) return null;
  const finishedAtMs = typeof finishedAt === 'string' ? parseIsoTimestamp(finishedAt) : null;
  if (finishedAt !== null && finishedAtMs === null) return null;
  if (!(exitCode === null || isInt(exitCode, -2_147_483_648, 2_147_483_647))) return null;
  const header: RunHeader = { key, job, host, attempt, status: status as RunStatus, started_at: startedAt as string, finished_at: finishedAt as string | null, exit_code: exitCode };
  if ('labels' in d) {
    // Present but undefined cannot come out of JSON; leave such shapes to zod.
    const labels = quickLabels(d['labels']);
    if (labels === null) return null;
    header.labels = labels;
  }
  return { header, startedAtMs, finishedAtMs };
}

function quickLabels(value: unknown): Record<string, string> | null {
  if (!isPlainObject(value)) return null;
  const labels: Record<string, string> = {};
  for (const name in value) {
    // __proto__ is special to zod's record (it drops it) and to plain objects: ask zod.
    if (name === '__proto__' || name.length > 200) return null;
    const text = (value as Record<string, unknown>)[name];
    if (!isString(text, 0, 2000)) return null;
    labels[name] = text;
  }
  return labels;
}

function quickMetrics(value: unknown): RunMetric[] | null {
  if (!Array.isArray(value)) return null;
  const metrics: RunMetric[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const metric: unknown = value[i];
    if (!isPlainObject(metric)) return null;
    const file = (metric as Record<string, unknown>)['file'];
    const path = (metric as Record<string, unknown>)['path'];
    const number = (metric as Record<string, unknown>)['value'];
    if (!isString(file, 1, Infinity) || !isString(path, 1, Infinity) || typeof number !== 'number' || !Number.isFinite(number)) return null;
    metrics[i] = { file, path, value: number };
  }
  return metrics;
}

function quickFiles(value: unknown): RunFile[] | null {
  if (!Array.isArray(value)) return null;
  const files: RunFile[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const file: unknown = value[i];
    if (!isPlainObject(file)) return null;
    const name = (file as Record<string, unknown>)['name'];
    const content = (file as Record<string, unknown>)['content'];
    const size = (file as Record<string, unknown>)['size'];
    const truncated = (file as Record<string, unknown>)['truncated'];
    if (!isString(name, 1, 255) || typeof content !== 'string' || !isInt(size, 0, Number.MAX_SAFE_INTEGER) || typeof truncated !== 'boolean') return null;
    files[i] = { name, content, size, truncated };
  }
  return files;
}

/** The same test as runKeySchema. */
export function isRunKey(key: string): boolean {
  return isKey(key);
}

function isKey(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 200 && KEY.test(value) && value !== '.' && value !== '..';
}

// A batch holds few distinct dates: remember the last good one instead of re-parsing it.
let lastGoodDate = '';

/** The same test as runDateSchema. */
function isRunDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (value === lastGoodDate) return true;
  if (!DATE.test(value) || !isCalendarDate(value)) return false;
  lastGoodDate = value;
  return true;
}

function isString(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

/** zod's `.int()` (a safe integer) with `.min()`/`.max()`. */
function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** What JSON.parse makes of `{…}` (and our own event objects): nothing exotic for zod to treat differently. */
function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.getPrototypeOf(value) === Object.prototype;
}
