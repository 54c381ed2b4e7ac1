// The live stream on the wire, through the whole app (auth, security headers, request log):
// the head is the app's, then every frame is one well-formed HTTP chunk written straight to
// the socket, clients of one subscription get the very same bytes, and the stream ends with
// the terminating chunk after the hub's last frame.
import { serve, type ServerType } from '@hono/node-server';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { createLiveHub, type LiveHub } from '../../api/live/live-hub.ts';
import { createKafka } from '../../ingest/kafka/index.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { openProducer, runEvent } from './live-support.ts';

let pipeline: TestPipeline;
let producer: Awaited<ReturnType<typeof openProducer>>;
let hub: LiveHub;
let server: ServerType;
let port: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  pipeline = await createTestPipeline('live_transport');
  producer = await openProducer(pipeline.config.kafka.brokers);
  const { kafka } = pipeline.config;
  hub = createLiveHub({ kafka: createKafka({ brokers: kafka.brokers, clientId: 'runlens-live-transport-test' }), topic: kafka.topic, sinkGroup: kafka.sinkGroup, log: () => {} });
  await hub.start();
  const config = parseApiConfig({ RUNLENS_CLICKHOUSE_URL: pipeline.config.clickhouse.url, RUNLENS_CLICKHOUSE_DATABASE: pipeline.config.clickhouse.database, RUNLENS_ALERTING: '0' });
  const { app } = createApp({ clickhouse: pipeline.admin, config, liveHub: hub, log: () => {} });
  server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await hub?.stop().catch(() => {});
  (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await producer?.close();
  await pipeline?.close();
});

/** A raw HTTP/1.1 client that keeps the head and every chunk of the body as received. */
class RawStream {
  head = '';
  readonly chunks: Buffer[] = [];
  ended = false;
  private buffer = Buffer.alloc(0);
  private inBody = false;

  constructor(path: string) {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer dev-viewer\r\nAccept: text/event-stream\r\n\r\n`);
    socket.on('data', (data: Buffer) => this.take(data));
    socket.on('error', () => {});
  }

  /** The SSE messages of the body, one per chunk. */
  messages(): string[] {
    return this.chunks.map((chunk) => chunk.toString('utf8'));
  }

  private take(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    if (!this.inBody) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 4);
      this.inBody = true;
    }
    for (;;) {
      const line = this.buffer.indexOf('\r\n');
      if (line < 0) return;
      const size = Number.parseInt(this.buffer.subarray(0, line).toString('latin1'), 16);
      if (!Number.isInteger(size)) throw new Error(`not a chunk size: ${JSON.stringify(this.buffer.subarray(0, line).toString('latin1'))}`);
      if (this.buffer.length < line + 2 + size + 2) return;
      if (this.buffer.subarray(line + 2 + size, line + 4 + size).toString('latin1') !== '\r\n') throw new Error('a chunk without its CRLF');
      if (size === 0) {
        this.ended = true;
        return;
      }
      this.chunks.push(this.buffer.subarray(line + 2, line + 2 + size));
      this.buffer = this.buffer.subarray(line + 4 + size);
    }
  }
}

const send = (events: ReturnType<typeof runEvent>[]) => producer.send(pipeline.config.kafka.topic, events);
const runKeys = (message: string) => [...message.matchAll(/"key":"([^"]+)"/g)].map((match) => match[1]!);

describe('the live stream on the wire', () => {
  it('answers with the app\'s head, then one whole SSE message per HTTP chunk', async () => {
    const stream = new RawStream('/api/v1/live?job=wire');
    await pollUntil(async () => stream.messages(), (messages) => messages.length >= 1, { what: 'the ready message' });
    expect(stream.head).toMatch(/^HTTP\/1\.1 200/);
    expect(stream.head.toLowerCase()).toContain('content-type: text/event-stream');
    expect(stream.head.toLowerCase()).toContain('transfer-encoding: chunked');
    // secureHeaders() of api/app.ts ran over this response too.
    expect(stream.head.toLowerCase()).toContain('x-content-type-options: nosniff');
    await send(Array.from({ length: 30 }, (_, i) => runEvent(`wire-${i}`, { job: 'wire' })));
    await pollUntil(async () => stream.messages().flatMap(runKeys), (keys) => keys.length >= 30, { what: '30 runs' });
    for (const message of stream.messages()) expect(message).toMatch(/^event: (ready|runs|heartbeat)\nid: [0-9:,]+\n(retry: \d+\n)?data: [^\n]+\n\n$/);
  });

  it('sends clients of one subscription the same bytes, and each only its runs', async () => {
    const [one, two, other] = [new RawStream('/api/v1/live?job=shared'), new RawStream('/api/v1/live?job=shared'), new RawStream('/api/v1/live?job=elsewhere')];
    for (const stream of [one, two, other]) await pollUntil(async () => stream.messages().length, (n) => n >= 1, { what: 'the ready message' });
    // Both clients are in step with the hub after a tick, so they share every later frame.
    await new Promise((resolve) => setTimeout(resolve, 600));
    for (let i = 0; i < 5; i++) {
      await send([runEvent(`shared-${i}`, { job: 'shared' }), runEvent(`elsewhere-${i}`, { job: 'elsewhere' })]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const runFrames = (stream: RawStream) => stream.messages().filter((message) => message.startsWith('event: runs'));
    await pollUntil(async () => [one, two, other].map((stream) => runFrames(stream).flatMap(runKeys).length), (counts) => counts.every((n) => n === 5), { what: 'five runs each' });
    expect(runFrames(one)).toEqual(runFrames(two));
    expect(new Set(runFrames(one).flatMap(runKeys))).toEqual(new Set(Array.from({ length: 5 }, (_, i) => `shared-${i}`)));
    expect(new Set(runFrames(other).flatMap(runKeys))).toEqual(new Set(Array.from({ length: 5 }, (_, i) => `elsewhere-${i}`)));
  });

  it('ends the stream with the terminating chunk after the last frame (cutoff on shutdown)', async () => {
    const stream = new RawStream('/api/v1/live');
    await pollUntil(async () => stream.messages().length, (n) => n >= 1, { what: 'the ready message' });
    await hub.stop();
    await pollUntil(async () => stream.ended, (ended) => ended, { what: 'the terminating chunk' });
    const last = stream.messages().at(-1)!;
    expect(last).toMatch(/^event: cutoff\nid: [0-9:,]+\ndata: \{"position":"[0-9:,]+","reason":"shutdown"\}\n\n$/);
  });
});
