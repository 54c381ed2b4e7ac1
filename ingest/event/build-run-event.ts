// Turns the files of one run directory into a validated RunEvent, or says precisely why it
// cannot yet: which file, which field, what is wrong. Used by the watcher and by `publish`,
// so both sides of the tree agree on what a run is.
import { z } from 'zod';
import { collectNumericLeaves } from './numeric-leaves.ts';
import { isRunKey, quickRunEvent, quickRunHeader } from './quick-check.ts';
import { parseIsoTimestamp, runHeaderSchema, type RunHeader } from './run-header.ts';
import {
  RUN_EVENT_SCHEMA_ID,
  runDateSchema,
  runEventSchema,
  runKeySchema,
  type RunEvent,
  type RunFile,
  type RunMetric,
} from './run-event.ts';

export const HEADER_FILE = 'run.json';
export const RESULT_FILE = 'result.json';

export interface RawRunFile {
  name: string;
  bytes: Uint8Array;
}

export interface EventLimits {
  /** A file's content is cut at this many bytes (the event keeps its size and a marker). */
  maxFileBytes: number;
  /** All files of one event together, as JSON-escaped bytes: keeps every message under Kafka's 1 MB. */
  maxTotalFileBytes: number;
  maxMetrics: number;
  maxMetricDepth: number;
}

export const defaultEventLimits: EventLimits = Object.freeze({
  maxFileBytes: 128 * 1024,
  maxTotalFileBytes: 512 * 1024,
  maxMetrics: 1000,
  maxMetricDepth: 32,
});

export interface RunDirectoryInput {
  runDate: string;
  key: string;
  files: readonly RawRunFile[];
  writtenAtMs: number;
  publishedAtMs: number;
  source: RunEvent['source'];
  origin: string;
  limits?: EventLimits;
}

export type BuildOutcome =
  | { ok: true; event: RunEvent }
  /**
   * `incomplete`: the directory may still be being written (no run.json yet, a file that is
   * not JSON yet): read again later. `invalid`: well-formed but wrong; reading again only
   * helps once the file changes.
   */
  | { ok: false; kind: 'incomplete' | 'invalid'; file: string; reason: string };

export function buildRunEvent(input: RunDirectoryInput): BuildOutcome {
  const limits = input.limits ?? defaultEventLimits;
  const identityProblem = checkIdentity(input.runDate, input.key);
  if (identityProblem) return { ok: false, kind: 'invalid', file: '', reason: identityProblem };

  const header = input.files.find((file) => file.name === HEADER_FILE);
  if (!header) return { ok: false, kind: 'incomplete', file: HEADER_FILE, reason: 'run.json is missing' };

  const parsedFiles = new Map<string, unknown>();
  /** Each file's text as decoded for parsing: its content when it is not cut. */
  const texts = new Map<string, string>();
  for (const file of input.files) {
    const parsed = parseJson(file.bytes);
    if (!parsed.ok) return { ok: false, kind: 'incomplete', file: file.name, reason: `not valid JSON (yet): ${parsed.reason}` };
    parsedFiles.set(file.name, parsed.value);
    texts.set(file.name, parsed.text);
  }

  // The quick check settles valid headers; zod judges (and explains) the rest.
  const quickHeader = quickRunHeader(parsedFiles.get(HEADER_FILE));
  let runHeader: RunHeader;
  if (quickHeader) {
    runHeader = quickHeader.header;
  } else {
    const headerResult = runHeaderSchema.safeParse(parsedFiles.get(HEADER_FILE));
    if (!headerResult.success) {
      return { ok: false, kind: 'invalid', file: HEADER_FILE, reason: describeZodError(headerResult.error) };
    }
    runHeader = headerResult.data;
  }
  if (runHeader.key !== input.key) {
    return { ok: false, kind: 'invalid', file: HEADER_FILE, reason: `key: "${runHeader.key}" does not match the directory name "${input.key}"` };
  }

  const metrics: RunMetric[] = [];
  let metricsTruncated = false;
  // The result file first: its leaves are the ones operators chart, so they win the cap.
  const dataFiles = [...parsedFiles.keys()].filter((name) => name !== HEADER_FILE).sort(resultFirst);
  for (const name of dataFiles) {
    const leaves = collectNumericLeaves(name, parsedFiles.get(name), {
      maxLeaves: limits.maxMetrics - metrics.length,
      maxDepth: limits.maxMetricDepth,
    });
    metrics.push(...leaves.metrics);
    metricsTruncated ||= leaves.truncated;
  }

  const event: RunEvent = {
    schema: RUN_EVENT_SCHEMA_ID,
    run_date: input.runDate,
    key: input.key,
    job: runHeader.job,
    host: runHeader.host,
    attempt: runHeader.attempt,
    status: runHeader.status,
    started_at_ms: quickHeader ? quickHeader.startedAtMs : parseIsoTimestamp(runHeader.started_at)!,
    finished_at_ms: quickHeader ? quickHeader.finishedAtMs : runHeader.finished_at === null ? null : parseIsoTimestamp(runHeader.finished_at)!,
    exit_code: runHeader.exit_code,
    labels: runHeader.labels ?? {},
    ...errorOf(parsedFiles.get(RESULT_FILE)),
    metrics,
    metrics_truncated: metricsTruncated,
    files: capFiles(input.files, limits, texts),
    source: input.source,
    origin: input.origin,
    written_at_ms: Math.trunc(input.writtenAtMs),
    published_at_ms: Math.trunc(input.publishedAtMs),
  };
  // The final check catches what the header schema cannot see (timestamps out of
  // DateTime's range, for one) with the same wording the consumer would use.
  const quick = quickRunEvent(event);
  if (quick) return { ok: true, event: quick };
  const checked = runEventSchema.safeParse(event);
  if (!checked.success) return { ok: false, kind: 'invalid', file: HEADER_FILE, reason: describeZodError(checked.error) };
  return { ok: true, event: checked.data };
}

/** `field.path: message; …`: names every field that is wrong. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(document)'}: ${issue.message}`)
    .join('; ');
}

function checkIdentity(runDate: string, key: string): string | null {
  if (runDate === lastGoodRunDate && isRunKey(key)) return null;
  const date = runDateSchema.safeParse(runDate);
  if (!date.success) return `partition "${runDate}" ${date.error.issues[0]?.message ?? 'is invalid'}`;
  const keyResult = runKeySchema.safeParse(key);
  if (!keyResult.success) return `key "${key.slice(0, 80)}" ${keyResult.error.issues[0]?.message ?? 'is invalid'}`;
  lastGoodRunDate = runDate;
  return null;
}

/** The last partition that passed checkIdentity: a directory's runs share a handful of dates. */
let lastGoodRunDate = '';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
/** For cut files: a cut may end mid-text, never mid-character (cutAtCharBoundary). */
const lenient = new TextDecoder('utf-8');

function parseJson(bytes: Uint8Array): { ok: true; value: unknown; text: string } | { ok: false; reason: string } {
  let text: string;
  try {
    text = utf8.decode(bytes); // also strips a UTF-8 BOM
  } catch {
    return { ok: false, reason: 'not valid UTF-8' };
  }
  if (text.trim() === '') return { ok: false, reason: 'the file is empty' };
  try {
    return { ok: true, value: JSON.parse(text), text };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

function errorOf(result: unknown): { error_type: string; error_message: string } {
  const error = isRecord(result) ? result['error'] : undefined;
  if (!isRecord(error)) return { error_type: '', error_message: '' };
  const type = error['type'];
  const message = error['message'];
  return {
    error_type: typeof type === 'string' ? type.slice(0, 500) : '',
    error_message: typeof message === 'string' ? message.slice(0, 10_000) : '',
  };
}

function capFiles(files: readonly RawRunFile[], limits: EventLimits, texts: ReadonlyMap<string, string>): RunFile[] {
  const sorted = [...files].sort((a, b) => resultFirst(a.name, b.name));
  // Escaped, a byte costs at most 6 (\u00XX): files that fit even at that size fit whole,
  // as the exact count below would find, without a JSON.stringify of each to measure it.
  let worstCase = 0;
  for (const file of sorted) worstCase += 6 * file.bytes.length + 2;
  if (worstCase <= limits.maxTotalFileBytes && sorted.every((file) => file.bytes.length <= limits.maxFileBytes)) {
    return sorted.map((file) => ({ name: file.name, content: texts.get(file.name) ?? lenient.decode(file.bytes), size: file.bytes.length, truncated: false }));
  }
  // The budget counts bytes as they will travel: inside a JSON string, so quotes, backslashes
  // and control characters cost their escapes (up to 6 bytes each).
  let budget = limits.maxTotalFileBytes;
  return sorted.map((file) => {
    let kept = cutAtCharBoundary(file.bytes, Math.max(0, Math.min(limits.maxFileBytes, budget)));
    // Uncut, the text is what parseJson decoded (valid UTF-8, BOM dropped, as here).
    let content = kept === file.bytes ? (texts.get(file.name) ?? lenient.decode(kept)) : lenient.decode(kept);
    let encodedBytes = Buffer.byteLength(JSON.stringify(content));
    if (encodedBytes > budget) {
      // Heavily escaped text: shrink in proportion to what the escapes cost, then re-measure.
      kept = cutAtCharBoundary(kept, Math.floor((kept.length * budget) / encodedBytes) - 8);
      content = lenient.decode(kept);
      encodedBytes = Buffer.byteLength(JSON.stringify(content));
    }
    budget = Math.max(0, budget - encodedBytes);
    return {
      name: file.name,
      content,
      size: file.bytes.length,
      truncated: kept.length < file.bytes.length,
    };
  });
}

/** The longest prefix of at most `max` bytes that does not split a UTF-8 sequence. */
function cutAtCharBoundary(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function resultFirst(a: string, b: string): number {
  const rank = (name: string) => (name === HEADER_FILE ? 0 : name === RESULT_FILE ? 1 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
