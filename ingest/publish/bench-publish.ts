// Quick numbers for the publish path: `npx tsx ingest/publish/bench-publish.ts [count]`.
// Prints publish latency (sequential, one event each, straight to Kafka), spool append
// latency (fdatasync per append) and the drain rate from spool to Kafka. Uses its own
// topic and a temporary spool directory.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIngestConfig } from '../config.ts';
import { encodeEvent } from '../event/wire.ts';
import { ensureTopic } from '../kafka/index.ts';
import { Spool } from '../spool/spool.ts';
import { buildPublishedEvent } from './publish-run-directory.ts';
import { createPublisher } from './publisher.ts';

const count = Number(process.argv[2] ?? 1000);
const topic = `bench.publish.${Date.now()}`;
const config = parseIngestConfig({ ...process.env, RUNLENS_KAFKA_TOPIC: topic });
await ensureTopic(config.kafka.brokers, topic, 6);

const result = JSON.stringify({ rows: 1234, timings_ms: { fetch: 812.4, write: 90.1 }, note: 'x'.repeat(2_000) });
const event = (i: number) =>
  buildPublishedEvent({
    runDate: '2026-11-21',
    key: `acct-${i % 500}.sync`,
    files: {
      'run.json': JSON.stringify({ key: `acct-${i % 500}.sync`, job: 'sync', host: 'bench', attempt: 1 + Math.floor(i / 500), status: 'succeeded', started_at: '2026-11-21T09:00:00Z', finished_at: '2026-11-21T09:00:01Z', exit_code: 0 }),
      'result.json': result,
    },
  }, Date.now());
const events = Array.from({ length: count }, (_, i) => event(i));
console.log(`event size ≈ ${encodeEvent(events[0]!).value.length} bytes; ${count} events; topic ${topic}`);

for (const compression of ['gzip', 'none'] as const) {
  const publisher = await createPublisher(config, { spoolDir: await mkdtemp(join(tmpdir(), 'bench-spool-')), compression });
  await publisher.publish([events[0]!]); // connect + producer id outside the measurement
  const latencies: number[] = [];
  for (const e of events) {
    const start = performance.now();
    await publisher.publish([e]);
    latencies.push(performance.now() - start);
  }
  await publisher.close();
  console.log(`publish (${compression}, sequential, 1 event each): ${summary(latencies)}`);
}

const spoolDir = await mkdtemp(join(tmpdir(), 'bench-spool-'));
const spool = await Spool.open(spoolDir);
const appendLatencies: number[] = [];
for (const e of events) {
  const message = encodeEvent(e);
  const start = performance.now();
  await spool.append([message]);
  appendLatencies.push(performance.now() - start);
}
await spool.close();
console.log(`spool append (1 event, fdatasync) in ${spoolDir}: ${summary(appendLatencies)}`);

const drainer = await createPublisher(config, { spoolDir, spoolMode: 'lazy' });
const start = performance.now();
const { sent } = await drainer.drain();
const seconds = (performance.now() - start) / 1000;
await drainer.close();
console.log(`drain: ${sent} events in ${seconds.toFixed(2)} s = ${Math.round(sent / seconds)} events/s`);

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`;
}
