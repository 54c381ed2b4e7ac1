// The dashboard's live connection: fetch-based SSE with resume. It remembers the id of the
// last message (a Kafka position), reconnects with `?from=<position>` — to the same or
// another API instance — with capped exponential backoff and full jitter, and turns the
// server's control messages into calls: `cutoff` → reconnect at once from its position,
// `reload` → the position is lost, ask the page to reload from a query.
import type { LiveRun } from '../../api/live/run-summary.ts';
import { readSse, type SseMessage } from './sse-reader.ts';

export type { LiveRun };

/**
 * `unavailable`: the instance answered that live is not enabled there (503 with
 * Retry-After); the stream asks again (or another instance) after that delay.
 */
export type LiveState = 'connecting' | 'live' | 'waiting' | 'unavailable' | 'stopped';

export interface LiveStreamOptions {
  /** One or more `/api/v1/live?…` URLs (instances); a failed connection moves to the next. */
  urls: readonly string[];
  /** Where to start, e.g. a query's `complete_until`; null: from now. */
  from?: string | null;
  headers?: Record<string, string>;
  onRuns: (runs: LiveRun[], position: string) => void;
  /**
   * The server can no longer replay from our position: reload the view from a query and
   * return its `complete_until` (or null to continue from now).
   */
  onReload?: (reason: string) => Promise<string | null> | string | null;
  onState?: (state: LiveState, detail?: string) => void;
  backoff?: { initialMs: number; maxMs: number };
  fetch?: typeof fetch;
  random?: () => number;
}

export interface LiveStream {
  /** The id of the last message received: where a reconnect resumes. */
  readonly position: string | null;
  readonly connections: number;
  close(): void;
}

/** Not retriable by reconnecting: a 4xx other than 408/429 means the request itself is wrong. */
export class LiveRequestError extends Error {
  override readonly name = 'LiveRequestError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The instance does not serve live now (503 + Retry-After, e.g. RUNLENS_API_LIVE=0): ask again after `retryAfterMs`. */
export class LiveUnavailableError extends Error {
  override readonly name = 'LiveUnavailableError';
  constructor(readonly retryAfterMs: number, message: string) {
    super(message);
  }
}

/** Retry-After in seconds, bounded to [5 s, 5 min]; null when absent or not a number of seconds. */
export function retryAfterMs(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Math.min(300_000, Math.max(5_000, Number(header.trim()) * 1000));
}

export function backoffDelay(attempt: number, { initialMs, maxMs }: { initialMs: number; maxMs: number }, random: () => number): number {
  // Full jitter: spreads a crowd of dashboards reconnecting after an instance died.
  return Math.round(random() * Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20)));
}

export function withFrom(url: string, from: string | null): string {
  const parsed = new URL(url, 'http://localhost');
  if (from === null) parsed.searchParams.delete('from');
  else parsed.searchParams.set('from', from);
  return /^[a-z]+:\/\//i.test(url) ? parsed.toString() : `${parsed.pathname}${parsed.search}`;
}

export function openLiveStream(options: LiveStreamOptions): LiveStream {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 15_000 };
  const controller = new AbortController();
  let position: string | null = options.from ?? null;
  let connections = 0;
  let urlIndex = 0;
  let stopped = false;

  const state = (value: LiveState, detail?: string) => options.onState?.(value, detail);

  async function connectOnce(): Promise<'cutoff' | 'reload' | 'ended'> {
    const url = withFrom(options.urls[urlIndex % options.urls.length]!, position);
    state('connecting', url);
    const response = await fetchImpl(url, { headers: { accept: 'text/event-stream', ...options.headers }, signal: controller.signal });
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '');
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new LiveRequestError(response.status, text);
      const retryAfter = response.status === 503 ? retryAfterMs(response.headers.get('retry-after')) : null;
      if (retryAfter !== null) throw new LiveUnavailableError(retryAfter, errorMessage(text) ?? `HTTP 503 from ${url}`);
      throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
    connections++;
    const end: { outcome: 'cutoff' | 'reload' | 'ended'; reason: string } = { outcome: 'ended', reason: '' };
    await readSse(response.body, (message: SseMessage) => {
      if (message.id !== null && message.id !== '') position = message.id;
      if (message.event === 'runs') options.onRuns(JSON.parse(message.data) as LiveRun[], message.id ?? '');
      else if (message.event === 'ready') state('live', message.data);
      else if (message.event === 'cutoff') end.outcome = 'cutoff';
      else if (message.event === 'reload') {
        end.outcome = 'reload';
        end.reason = (JSON.parse(message.data) as { reason: string }).reason;
      }
    }, controller.signal);
    if (end.outcome === 'reload') {
      position = null;
      position = options.onReload ? await options.onReload(end.reason) : null;
    }
    return end.outcome;
  }

  const sleepUnlessClosed = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    controller.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

  void (async () => {
    let failures = 0;
    while (!stopped) {
      try {
        const outcome = await connectOnce();
        // A stream that ended after working resets the backoff; a cutoff reconnects at once.
        failures = outcome === 'ended' ? 1 : 0;
      } catch (error) {
        if (stopped) break;
        if (error instanceof LiveRequestError) {
          state('stopped', error.message);
          stopped = true;
          break;
        }
        urlIndex++; // try the next instance
        if (error instanceof LiveUnavailableError) {
          // Said by the server, not a failure to back off from: wait as long as it asked.
          state('unavailable', error.message);
          await sleepUnlessClosed(error.retryAfterMs);
          continue;
        }
        failures++;
      }
      if (stopped) break;
      if (failures > 0) {
        const delay = backoffDelay(failures - 1, backoff, random);
        state('waiting', `${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    state('stopped');
  })();

  return {
    get position() {
      return position;
    },
    get connections() {
      return connections;
    },
    close() {
      stopped = true;
      controller.abort();
    },
  };
}

/** The API's `{ error: { message } }`, or null when the body is something else. */
function errorMessage(text: string): string | null {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? message : null;
  } catch {
    return null;
  }
}
