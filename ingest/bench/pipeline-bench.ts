// Pipeline figures for the ingest issue, printed as a table (a benchmark, not a test):
//   1. freshness: file write → row visible in ClickHouse, p50/p99, at --rate runs/s
//      through the real watcher, Kafka and sink;
//   2. sink consumption rate: rows/s from a topic pre-filled with --consume events.
// Each figure is the median of --repeat runs, with min and max. The benchmark suite
// (bench/) calls freshnessRun and consumptionRun itself; freshnessRun can also follow the
// same runs on the live SSE stream (file write → SSE event received).
//
//   node --import tsx ingest/bench/pipeline-bench.ts [--rate 200] [--seconds 20] [--consume 200000] [--repeat 3]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createLiveHub, liveRoutes, type LiveRun } from '../../api/live/index.ts';
import { readSse } from '../../dashboard/live/sse-reader.ts';
import { createPublisher } from '../publish/publisher.ts';
import { openCheckpointStore } from '../watch/checkpoint-store.ts';
import { runWatch } from '../watch/watch-loop.ts';
import { buildRunEvent } from '../event/build-run-event.ts';
import { encodeEvent } from '../event/wire.ts';
import { createKafka } from '../kafka/index.ts';
import { stackUp } from '../../stack/stack.ts';
import { createTestPipeline } from '../../test/support/pipeline.ts';

const today = new Date().toISOString().slice(0, 10);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export interface Freshness { p50: number; p99: number; n: number }

export async function freshnessRun(run: number, { rate, seconds, sse = false }: { rate: number; seconds: number; sse?: boolean }): Promise<Freshness & { sse: Freshness | null }> {
  const pipeline = await createTestPipeline(`bench_fresh${run}`);
  await pipeline.startSink();
  const sseAt = new Map<string, number>();
  let stopLive: (() => Promise<void>) | null = null;
  if (sse) {
    const hub = createLiveHub({ kafka: createKafka({ brokers: pipeline.config.kafka.brokers, clientId: 'bench-live' }), topic: pipeline.config.kafka.topic, sinkGroup: pipeline.config.kafka.sinkGroup, log: () => {} });
    await hub.start();
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: liveRoutes(hub).fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/live`, { signal: controller.signal });
    if (!response.body) throw new Error('live stream without a body');
    void readSse(response.body, (message) => {
      if (message.event !== 'runs') return;
      const at = Date.now();
      for (const live of JSON.parse(message.data) as LiveRun[]) if (!sseAt.has(live.key)) sseAt.set(live.key, at);
    }).catch(() => {});
    stopLive = async () => {
      controller.abort();
      await hub.stop();
      server.close();
    };
  }
  const work = mkdtempSync(join(tmpdir(), 'runlens-bench-'));
  const root = join(work, 'runs');
  mkdirSync(join(root, today), { recursive: true });
  const publisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(work, 'spool') });
  const checkpoint = openCheckpointStore({ checkpointDir: join(work, 'checkpoints'), root, log: () => {} });
  const stop = new AbortController();
  let backfilled!: () => void;
  const ready = new Promise<void>((resolve) => (backfilled = resolve));
  const watching = runWatch({ options: { root }, publisher, checkpoint, log: () => {}, signal: stop.signal, onBackfilled: () => backfilled() });
  await ready;

  const writtenAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const total = rate * seconds;
  const startMs = Date.now();
  const writer = (async () => {
    for (let i = 0; i < total; i++) {
      const due = startMs + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const key = `bench-${run}-${i}`;
      const dir = join(root, today, key);
      mkdirSync(dir);
      const now = new Date();
      writeFileSync(join(dir, 'result.json'), JSON.stringify({ records: i, timings_ms: { fetch: i % 1000 } }));
      writeFileSync(join(dir, 'run.json'), JSON.stringify({
        key, job: `bench-job-${i % 50}`, host: `host-${i % 20}`, attempt: 1, status: 'succeeded',
        started_at: now.toISOString(), finished_at: now.toISOString(), exit_code: 0,
      }));
      writtenAt.set(key, Date.now());
    }
  })();
  const db = pipeline.config.clickhouse.database;
  // Poll for new keys; a key's visibility time is the end of the poll that first saw it.
  // A row is ingested after its files were written (one clock), so rows not yet seen have
  // ingested_at at or after the write of the oldest unseen key: each poll reads from there.
  while (seenAt.size < total && Date.now() - startMs < (seconds + 30) * 1000) {
    let oldestUnseenMs = Date.now();
    for (const [key, at] of writtenAt) if (!seenAt.has(key)) oldestUnseenMs = Math.min(oldestUnseenMs, at);
    const rows = await pipeline.query<{ key: string }>(
      `SELECT key FROM ${db}.runs WHERE run_date = '${today}' AND ingested_at >= toDateTime(${Math.floor(oldestUnseenMs / 1000) - 1})`,
    );
    const at = Date.now();
    for (const row of rows) if (!seenAt.has(row.key)) seenAt.set(row.key, at);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await writer;
  stop.abort();
  await watching.catch(() => {});
  await publisher.close();
  await stopLive?.();
  await pipeline.close();
  const summary = (seen: Map<string, number>): Freshness => {
    const latencies = [...seen].map(([key, at]) => at - (writtenAt.get(key) ?? at)).sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };
  };
  return { ...summary(seenAt), sse: sse ? summary(sseAt) : null };
}

export async function consumptionRun(run: number, consumeCount: number): Promise<number> {
  const pipeline = await createTestPipeline(`bench_consume${run}`);
  const kafka = createKafka({ brokers: pipeline.config.kafka.brokers, clientId: 'bench', requestTimeoutMs: 30_000 });
  const producer = kafka.producer();
  await producer.connect();
  const base = buildRunEvent({
    runDate: today, key: 'template', writtenAtMs: Date.now(), publishedAtMs: Date.now(), source: 'publish', origin: 'bench',
    files: [
      { name: 'run.json', bytes: Buffer.from(JSON.stringify({ key: 'template', job: 'bench', host: 'h', attempt: 1, status: 'succeeded', started_at: new Date().toISOString(), finished_at: new Date().toISOString(), exit_code: 0, labels: { region: 'eu' } })) },
      { name: 'result.json', bytes: Buffer.from(JSON.stringify({ records_in: 10, records_out: 9, timings_ms: { fetch: 1.5, write: 2.5 }, error: null })) },
    ],
  });
  if (!base.ok) throw new Error(base.reason);
  for (let offset = 0; offset < consumeCount; offset += 5000) {
    const messages = [];
    for (let i = offset; i < Math.min(consumeCount, offset + 5000); i++) messages.push(encodeEvent({ ...base.event, key: `c-${i}`, job: `job-${i % 300}` }));
    await producer.send({ topic: pipeline.config.kafka.topic, acks: -1, messages });
  }
  await producer.disconnect();
  const started = Date.now();
  await pipeline.startSink();
  const db = pipeline.config.clickhouse.database;
  for (;;) {
    const [row] = await pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${db}.runs`);
    if ((row?.n ?? 0) >= consumeCount) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const rowsPerSecond = consumeCount / ((Date.now() - started) / 1000);
  await pipeline.close();
  return rowsPerSecond;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '20' },
      consume: { type: 'string', default: '200000' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const consumeCount = Number(values.consume);
  const repeat = Number(values.repeat);
  await stackUp();
  const fresh: Array<{ p50: number; p99: number; n: number }> = [];
  const consumed: number[] = [];
  for (let run = 0; run < repeat; run++) {
    fresh.push(await freshnessRun(run, { rate, seconds }));
    process.stderr.write(`freshness run ${run + 1}/${repeat}: p50 ${fresh.at(-1)!.p50} ms, p99 ${fresh.at(-1)!.p99} ms over ${fresh.at(-1)!.n} runs\n`);
    consumed.push(await consumptionRun(run, consumeCount));
    process.stderr.write(`consumption run ${run + 1}/${repeat}: ${Math.round(consumed.at(-1)!)} rows/s\n`);
  }
  const fmt = (xs: number[]) => `${Math.round(median(xs))} (min ${Math.round(Math.min(...xs))}, max ${Math.round(Math.max(...xs))})`;
  console.log(`| figure (median of ${repeat}) | value |`);
  console.log('| --- | --- |');
  console.log(`| file write → row visible in ClickHouse, p50, at ${rate} runs/s | ${fmt(fresh.map((f) => f.p50))} ms |`);
  console.log(`| file write → row visible in ClickHouse, p99, at ${rate} runs/s | ${fmt(fresh.map((f) => f.p99))} ms |`);
  console.log(`| sink consumption, ${consumeCount} events pre-filled | ${fmt(consumed)} rows/s |`);
  process.exit(0);
}
