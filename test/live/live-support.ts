// Live-stream test helpers: API instances (a hub and a real HTTP server on 127.0.0.1, port
// 0), run events made to order, and an SSE client that records every message it gets.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createLiveHub, type LiveHub, type LiveHubOptions } from '../../api/live/live-hub.ts';
import { liveRoutes } from '../../api/live/live-routes.ts';
import type { LiveRun } from '../../api/live/run-summary.ts';
import { readSse, type SseMessage } from '../../dashboard/live/sse-reader.ts';
import { RUN_EVENT_SCHEMA_ID, type RunEvent } from '../../ingest/event/run-event.ts';
import { encodeEvent } from '../../ingest/event/wire.ts';
import { createKafka, createProducer, type RunEventProducer } from '../../ingest/kafka/index.ts';

export interface Instance {
  hub: LiveHub;
  url: string;
  close(): Promise<void>;
}

export async function startInstance(brokers: readonly string[], topic: string, sinkGroup: string, options: Partial<LiveHubOptions> = {}): Promise<Instance> {
  const kafka = createKafka({ brokers, clientId: 'runlens-live-test' });
  const hub = createLiveHub({ kafka, topic, sinkGroup, options, log: () => {} });
  await hub.start();
  const app = liveRoutes(hub);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    hub,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await hub.stop();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export function runEvent(key: string, overrides: Partial<RunEvent> = {}): RunEvent {
  const now = Date.now();
  return {
    schema: RUN_EVENT_SCHEMA_ID,
    run_date: '2026-11-21',
    key,
    job: 'invoice-sync',
    host: 'worker-1',
    attempt: 1,
    status: 'succeeded',
    started_at_ms: now - 1_500,
    finished_at_ms: now,
    exit_code: 0,
    labels: { team: 'billing' },
    error_type: '',
    error_message: '',
    metrics: [],
    metrics_truncated: false,
    files: [{ name: 'result.json', content: '{"big":"file contents the stream must not carry"}', size: 48, truncated: false }],
    source: 'publish',
    origin: 'live-test',
    written_at_ms: now,
    published_at_ms: now,
    ...overrides,
  };
}

export async function openProducer(brokers: readonly string[]): Promise<{ send(topic: string, events: RunEvent[]): Promise<void>; close(): Promise<void> }> {
  const producer: RunEventProducer = createProducer(createKafka({ brokers, clientId: 'runlens-live-test-producer' }), { compression: 'none' });
  await producer.connect();
  return {
    send: (topic, events) => producer.send(topic, events.map(encodeEvent), 10_000),
    close: () => producer.disconnect(),
  };
}

/** An SSE client recording what it receives; `runs` is every run in arrival order. */
export class Recorder {
  readonly messages: SseMessage[] = [];
  readonly runs: LiveRun[] = [];
  lastId: string | null = null;
  status = 0;
  ended = false;
  private readonly controller = new AbortController();
  private reading: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string> = {}): Promise<Recorder> {
    const recorder = new Recorder();
    const response = await fetch(url, { headers, signal: recorder.controller.signal });
    recorder.status = response.status;
    if (!response.ok || !response.body) {
      recorder.messages.push({ event: 'http-error', data: await response.text(), id: null, retry: null });
      recorder.ended = true;
      return recorder;
    }
    recorder.reading = readSse(response.body, (message) => {
      recorder.messages.push(message);
      if (message.id) recorder.lastId = message.id;
      if (message.event === 'runs') recorder.runs.push(...(JSON.parse(message.data) as LiveRun[]));
    }, recorder.controller.signal).catch(() => {}).finally(() => { recorder.ended = true; });
    return recorder;
  }

  keys(): string[] {
    return this.runs.map((run) => run.key);
  }

  has(event: string): boolean {
    return this.messages.some((message) => message.event === event);
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.reading;
  }
}
