// `runlens migrate`: applies clickhouse/migrations as the admin user; safe to run twice.
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { migrateCluster } from '../../clickhouse/cluster/migrate-cluster.ts';
import { DEFAULT_ZOOKEEPER_PREFIX } from '../../clickhouse/cluster/render.ts';
import { migrate } from '../../clickhouse/migrate.ts';
import { parseIngestConfig } from '../config.ts';
import { parseCommandArgs, type Command } from './command.ts';


export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the ClickHouse migrations (idempotent)',
  help: `usage: runlens migrate [--cluster [--cluster-name NAME]]

Applies clickhouse/migrations/NNNN_*.sql in order as the admin user, records each in
<database>.schema_migrations, skips what is applied, refuses a migration edited after
it was applied, and skips version-gated ones the server is too old for.

  --cluster   render them for the ClickHouse cluster RUNLENS_CLICKHOUSE_URL belongs to
              (Replicated tables + Distributed tables, ON CLUSTER NAME, default runlens:
              the <remote_servers> entry); always run it against the same node
              (clickhouse/cluster/DEPLOYMENT.md)

environment: RUNLENS_CLICKHOUSE_URL, RUNLENS_CLICKHOUSE_DATABASE (default runlens),
RUNLENS_CLICKHOUSE_ADMIN_USER / _PASSWORD, RUNLENS_KAFKA_BROKERS, RUNLENS_KAFKA_TOPIC`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { cluster: { type: 'boolean', default: false }, 'cluster-name': { type: 'string', default: 'runlens' } }, false);
    const config = parseIngestConfig();
    const client = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.admin });
    try {
      const variables = {
        database: config.clickhouse.database,
        kafkaBrokers: config.kafka.brokers.join(','),
        kafkaTopic: config.kafka.topic,
        kafkaGroup: `${config.kafka.sinkGroup}-engine`,
      };
      const result = values.cluster
        ? await migrateCluster(client, variables, { cluster: values['cluster-name'], zooKeeperPrefix: DEFAULT_ZOOKEEPER_PREFIX }, { log: io.err })
        : await migrate(client, variables, { log: io.err });
      io.out(`migrations: ${result.applied.length} applied, ${result.alreadyApplied} already applied, ${result.skipped.length} skipped (server too old)`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
