// A private pipeline for one test file: its own ClickHouse database (migrated), its own
// topic and consumer group, a sink running against them, and an admin client to check.
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { migrate } from '../../clickhouse/migrate.ts';
import { parseIngestConfig, type IngestConfig } from '../../ingest/config.ts';
import { startSink } from '../../ingest/sink/start-sink.ts';
import type { ClickHouseSink } from '../../ingest/sink/sink.ts';
import { ensureTopic } from '../../stack/stack.ts';
import { uniqueName } from './poll.ts';

export interface TestPipeline {
  config: IngestConfig;
  admin: ClickHouseClient;
  sink: ClickHouseSink | null;
  startSink(): Promise<ClickHouseSink>;
  stopSink(): Promise<void>;
  query<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

export async function createTestPipeline(name: string, env: Record<string, string> = {}): Promise<TestPipeline> {
  const id = uniqueName(name);
  const config = parseIngestConfig({
    ...process.env,
    RUNLENS_CLICKHOUSE_DATABASE: `t_${id}`,
    RUNLENS_KAFKA_TOPIC: `t.${id}`,
    RUNLENS_KAFKA_SINK_GROUP: `t.${id}.sink`,
    RUNLENS_SINK_FLUSH_MS: '100',
    ...env,
  });
  await ensureTopic(config.kafka.brokers.join(','), config.kafka.topic, 6);
  const admin = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.admin });
  await migrate(admin, {
    database: config.clickhouse.database,
    kafkaBrokers: config.kafka.brokers.join(','),
    kafkaTopic: config.kafka.topic,
    kafkaGroup: `${config.kafka.sinkGroup}-engine`,
  });
  const pipeline: TestPipeline = {
    config,
    admin,
    sink: null,
    async startSink() {
      pipeline.sink = await startSink(config, { log: (line) => console.error(line) });
      return pipeline.sink;
    },
    async stopSink() {
      await pipeline.sink?.stop();
      pipeline.sink = null;
    },
    async query<T>(sql: string) {
      const result = await admin.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
      return result.json<T>();
    },
    async close() {
      await pipeline.stopSink();
      await admin.command({ query: `DROP DATABASE IF EXISTS ${config.clickhouse.database}` }).catch(() => {});
      await admin.close();
    },
  };
  return pipeline;
}
