// Delivers notifications to webhook and Slack-compatible channels, apart from evaluation:
// the evaluator only enqueues, so a dead receiver never delays a rule. Each attempt has a
// timeout; failures are retried with capped exponential backoff and jitter; every attempt
// is logged in alert_deliveries. A notification is identified by its dedup key (also sent
// as X-Runlens-Dedup-Key): delivery is at-least-once, receivers may dedupe on it.
import { createHmac } from 'node:crypto';
import type { AlertStateName, Notice } from './alert-state.ts';
import type { DeliveryRow } from './alert-store.ts';
import type { Channel } from './model.ts';
import { formatValue } from './template.ts';

export interface NotificationPayload {
  version: 1;
  dedupKey: string;
  /** firing: first notice of an episode; repeat: still firing after repeatInterval; resolved. */
  kind: Notice;
  status: Extract<AlertStateName, 'firing' | 'resolved'>;
  rule: string;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  startsAt: string;
  endsAt: string | null;
  /** When the evaluator decided this (not when the attempt was made): stable across retries. */
  at: string;
}

export interface Notification {
  channel: string;
  fingerprint: string;
  payload: NotificationPayload;
}

export interface NotifierOptions {
  channels: () => ReadonlyMap<string, Channel>;
  secret: string;
  timeoutMs: number;
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
  concurrency: number;
  logDelivery: (row: DeliveryRow) => Promise<void>;
  log: (line: string) => void;
  clock: () => number;
  writer: string;
  fetch?: typeof fetch;
  random?: () => number;
}

interface Item {
  notification: Notification;
  attempt: number;
  dueAtMs: number;
}

/** Why an attempt failed, and whether trying again may help. */
class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(message: string, readonly retriable: boolean, readonly httpStatus = 0) {
    super(message);
  }
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function slackText(payload: NotificationPayload): string {
  const head = payload.status === 'firing' ? `:rotating_light: [FIRING${payload.kind === 'repeat' ? ', still' : ''}]` : ':white_check_mark: [RESOLVED]';
  const labels = Object.entries(payload.labels).filter(([key]) => key !== 'alertname').map(([key, value]) => `${key}=${value}`).join(', ');
  const summary = payload.annotations.summary ?? '';
  const description = payload.annotations.description ? `\n${payload.annotations.description}` : '';
  return `${head} ${payload.rule} (${payload.severity}) value=${formatValue(payload.value)} ${labels ? `{${labels}}` : ''}${summary ? `\n${summary}` : ''}${description}`;
}

export class Notifier {
  private readonly queue: Item[] = [];
  private readonly keys = new Set<string>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopper = new AbortController();
  private running = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: NotifierOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopper = new AbortController();
    this.pump();
  }

  /** Drops the queue: a leader that steps down leaves its outbox to the next one. */
  stop(): void {
    this.running = false;
    this.stopper.abort();
    this.queue.length = 0;
    this.keys.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.settleIdle();
  }

  enqueue(notification: Notification): void {
    const key = `${notification.payload.dedupKey}\u0000${notification.channel}`;
    if (!this.running || this.keys.has(key)) return;
    this.keys.add(key);
    this.queue.push({ notification, attempt: 1, dueAtMs: this.options.clock() });
    this.pump();
  }

  pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves when nothing is queued or in flight (for shutdown and tests). */
  idle(): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private settleIdle(): void {
    if (this.pending() !== 0 && this.running) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = this.options.clock();
    this.queue.sort((a, b) => a.dueAtMs - b.dueAtMs);
    while (this.inFlight < this.options.concurrency && this.queue.length > 0 && this.queue[0]!.dueAtMs <= now) {
      const item = this.queue.shift()!;
      this.inFlight++;
      void this.attempt(item).finally(() => {
        this.inFlight--;
        this.pump();
        this.settleIdle();
      });
    }
    const next = this.queue[0];
    if (next && this.inFlight < this.options.concurrency) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, next.dueAtMs - now));
    }
  }

  private async attempt(item: Item): Promise<void> {
    const { notification } = item;
    const key = `${notification.payload.dedupKey}\u0000${notification.channel}`;
    const stopSignal = this.stopper.signal;
    const started = this.options.clock();
    const channel = this.options.channels().get(notification.channel);
    let failure: DeliveryError | null = null;
    try {
      if (!channel) throw new DeliveryError(`channel "${notification.channel}" is not defined any more`, false);
      await this.send(channel, notification.payload, stopSignal);
    } catch (error) {
      failure = error instanceof DeliveryError ? error : new DeliveryError(error instanceof Error ? error.message : String(error), true);
    }
    // Stopped mid-attempt: not ours to log or retry any more; the next leader re-queues it.
    if (stopSignal.aborted) return;
    const finalAttempt = failure !== null && (!failure.retriable || item.attempt >= this.options.maxAttempts);
    const status: DeliveryRow['status'] = failure === null ? 'delivered' : finalAttempt ? 'gave_up' : 'retrying';
    const row: DeliveryRow = {
      atMs: this.options.clock(),
      dedupKey: notification.payload.dedupKey,
      channel: notification.channel,
      channelType: channel?.type ?? '',
      rule: notification.payload.rule,
      fingerprint: notification.fingerprint,
      kind: notification.payload.kind,
      attempt: item.attempt,
      status,
      httpStatus: failure?.httpStatus ?? 200,
      error: failure?.message ?? '',
      durationMs: this.options.clock() - started,
      writer: this.options.writer,
    };
    if (failure) this.options.log(`alerting: delivery ${status}: ${notification.payload.dedupKey} → ${notification.channel} (attempt ${item.attempt}): ${failure.message}`);
    try {
      await this.options.logDelivery(row);
    } catch (error) {
      // The attempt happened either way; without its row a later leader may resend it
      // (at-least-once). Reported, not hidden.
      this.options.log(`alerting: could not log delivery of ${notification.payload.dedupKey}: ${(error as Error).message}`);
    }
    if (status === 'retrying' && this.running) {
      const ceiling = Math.min(this.options.backoff.maxMs, this.options.backoff.initialMs * 2 ** Math.min(item.attempt - 1, 30));
      const delay = Math.round(ceiling / 2 + ((this.options.random ?? Math.random)() * ceiling) / 2);
      this.queue.push({ notification, attempt: item.attempt + 1, dueAtMs: this.options.clock() + delay });
    } else {
      this.keys.delete(key);
    }
  }

  private async send(channel: Channel, payload: NotificationPayload, stopSignal: AbortSignal): Promise<void> {
    const body = JSON.stringify(channel.type === 'slack' ? { text: slackText(payload) } : payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'runlens-alerting',
      'x-runlens-dedup-key': payload.dedupKey,
    };
    if (channel.type === 'webhook') headers['x-runlens-signature'] = signBody(this.options.secret, body);
    const signal = AbortSignal.any([stopSignal, AbortSignal.timeout(this.options.timeoutMs)]);
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(channel.url, { method: 'POST', headers, body, signal, redirect: 'manual' });
    } catch (error) {
      const timedOut = signal.aborted && !stopSignal.aborted;
      throw new DeliveryError(timedOut ? `no answer within ${this.options.timeoutMs} ms` : `request failed: ${describeFetchError(error)}`, true);
    }
    // Drain the body so the socket is reused; its content does not matter.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    const retriable = response.status === 408 || response.status === 429 || response.status >= 500;
    throw new DeliveryError(`HTTP ${response.status}`, retriable, response.status);
  }
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})` : error.message;
}
