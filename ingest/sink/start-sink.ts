// Wires a ClickHouseSink from config: the ingest user's ClickHouse client and a consumer in
// the sink's group. Kept apart from the sink so tests can build one with their own names.
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import type { IngestConfig } from '../config.ts';
import { createConsumer, createKafka } from '../kafka/index.ts';
import { ClickHouseSink } from './sink.ts';

export async function startSink(config: IngestConfig, { log }: { log: (line: string) => void }): Promise<ClickHouseSink> {
  // A consumer lives for days: generous timeouts and retries, kafkajs restarts it after a
  // broker outage (restartOnFailure), and uncommitted messages are simply read again.
  const kafka = createKafka({ clientId: `${config.kafka.clientId}-sink`, brokers: config.kafka.brokers, requestTimeoutMs: 30_000, retries: 8 });
  const clickhouse = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.ingest });
  const consumer = createConsumer(kafka, {
    groupId: config.kafka.sinkGroup,
    // Short fetch waits: freshness is the point (a row visible within 2 s of the write).
    maxWaitTimeInMs: 100,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  });
  const sink = new ClickHouseSink({
    consumer,
    clickhouse,
    database: config.clickhouse.database,
    topic: config.kafka.topic,
    flushMs: config.sink.flushMs,
    maxBatch: config.sink.maxBatch,
    log,
  });
  await sink.start();
  const stop = sink.stop.bind(sink);
  sink.stop = async () => {
    await stop();
    await clickhouse.close();
  };
  return sink;
}
