// Wires a ClickHouseSink from config: the ingest user's ClickHouse client and a consumer in
// the sink's group. Kept apart from the sink so tests can build one with their own names.
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import type { IngestConfig } from '../config.ts';
import { createKafka, createSupervisedConsumer } from '../kafka/index.ts';
import { DirtyNoter } from '../rollup/dirty-notes.ts';
import { RollupMaintainer } from '../rollup/maintainer.ts';
import { ClickHouseSink } from './sink.ts';

export async function startSink(config: IngestConfig, { log }: { log: (line: string) => void }): Promise<ClickHouseSink> {
  // A consumer lives for days: generous timeouts and retries; kafkajs restarts it after most
  // failures, and the supervisor rebuilds it when kafkajs gives up, heartbeats while a batch
  // waits for ClickHouse, and logs what it waits for (ingest/kafka/supervised-consumer.ts).
  // Uncommitted messages are simply read again.
  const kafka = createKafka({ clientId: `${config.kafka.clientId}-sink`, brokers: config.kafka.brokers, requestTimeoutMs: 30_000, retries: 8 });
  const clickhouse = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.ingest });
  const consumer = createSupervisedConsumer(kafka, {
    groupId: config.kafka.sinkGroup,
    // Short fetch waits: freshness is the point (a row visible within 2 s of the write).
    maxWaitTimeInMs: 100,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
  }, { name: 'sink', log });
  // Rollups: every sink notes the units its batches touch; the maintainer (one writer at a
  // time across sinks, by a lock in ClickHouse) recomputes them. See clickhouse/README.md.
  const noter: DirtyNoter = new DirtyNoter({
    clickhouse,
    database: config.clickhouse.database,
    storedBatches: (): number => sink.stats.batches,
    log,
  });
  const sink = new ClickHouseSink({
    consumer,
    clickhouse,
    database: config.clickhouse.database,
    topic: config.kafka.topic,
    flushMs: config.sink.flushMs,
    maxBatch: config.sink.maxBatch,
    log,
    beforeStoreRuns: noter.beforeStoreRuns,
  });
  await sink.start();
  noter.start();
  const admin = config.rollup.maintain ? createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.admin }) : null;
  const maintainer = admin
    ? new RollupMaintainer({
      clickhouse,
      admin,
      database: config.clickhouse.database,
      labelKeys: config.rollup.labelKeys,
      retention: config.rollup.retention,
      intervalMs: config.rollup.intervalMs,
      log,
    })
    : null;
  maintainer?.start();
  const stop = sink.stop.bind(sink);
  sink.stop = async () => {
    await stop();
    await noter.stop().catch((error: unknown) => log(`rollup: could not confirm the last batches (the maintainer replays recent notes on start): ${(error as Error).message}`));
    await maintainer?.stop();
    await admin?.close();
    await clickhouse.close();
  };
  return sink;
}
