// `runlens migrate`: applies clickhouse/migrations as the admin user; safe to run twice.
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { migrate } from '../../clickhouse/migrate.ts';
import { parseIngestConfig } from '../config.ts';
import { parseCommandArgs, type Command } from './command.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the ClickHouse migrations (idempotent)',
  help: `usage: runlens migrate

Applies clickhouse/migrations/NNNN_*.sql in order as the admin user, records each in
<database>.schema_migrations, skips what is applied, refuses a migration edited after
it was applied, and skips version-gated ones the server is too old for.

environment: RUNLENS_CLICKHOUSE_URL, RUNLENS_CLICKHOUSE_DATABASE (default runlens),
RUNLENS_CLICKHOUSE_ADMIN_USER / _PASSWORD, RUNLENS_KAFKA_BROKERS, RUNLENS_KAFKA_TOPIC`,
  async run(argv, io) {
    parseCommandArgs(argv, {}, false);
    const config = parseIngestConfig();
    const client = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.admin });
    try {
      const result = await migrate(client, {
        database: config.clickhouse.database,
        kafkaBrokers: config.kafka.brokers.join(','),
        kafkaTopic: config.kafka.topic,
        kafkaGroup: `${config.kafka.sinkGroup}-engine`,
      }, { log: io.err });
      io.out(`migrations: ${result.applied.length} applied, ${result.alreadyApplied} already applied, ${result.skipped.length} skipped (server too old)`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
