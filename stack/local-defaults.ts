// The local stack's endpoints and names. Every config.ts takes its defaults from here,
// so `runlens stack up` and every process agree without any env var being set, while
// production points the same code elsewhere through RUNLENS_* variables.
// Ports avoid the engines' defaults (8123/9000 for ClickHouse, 9092 for Kafka).
export const localDefaults = Object.freeze({
  clickhouseHttpPort: 18123,
  clickhouseTcpPort: 19000,
  clickhouseInterserverPort: 19009,
  kafkaPort: 19092,
  kafkaControllerPort: 19093,
  apiPort: 18080,
  database: 'runlens',
  runEventsTopic: 'runlens.run-events',
  runEventsPartitions: 6,
  users: {
    admin: { name: 'admin', password: 'local-admin' },
    ingest: { name: 'ingest', password: 'local-ingest' },
    api: { name: 'api', password: 'local-api' },
    sql: { name: 'sql', password: 'local-sql' },
  },
  // Project-local, git-ignored: stack data, spool, checkpoints.
  stateDir: '.runlens',
});

export const localClickhouseUrl = `http://127.0.0.1:${localDefaults.clickhouseHttpPort}`;
export const localKafkaBrokers = `127.0.0.1:${localDefaults.kafkaPort}`;
