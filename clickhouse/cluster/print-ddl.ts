// Prints every migration rendered for the cluster, as `runlens migrate --cluster` would run
// it: for review before a deployment, and to create the tables on a new shard's servers
// (DEPLOYMENT.md, "Adding a shard"). Usage:
//   npx tsx clickhouse/cluster/print-ddl.ts [database] [cluster]   (defaults: runlens runlens)
import { loadMigrations, renderMigration, splitStatements } from '../migrate.ts';
import { createClusterRenderer, DEFAULT_ZOOKEEPER_PREFIX } from './render.ts';

const [database = 'runlens', cluster = 'runlens'] = process.argv.slice(2);
const variables = { database, kafkaBrokers: '', kafkaTopic: '', kafkaGroup: '' };
const migrations = loadMigrations();
const known = migrations.flatMap((migration) => splitStatements(renderMigration(migration.sql, variables)));
const renderer = createClusterRenderer({ cluster, zooKeeperPrefix: DEFAULT_ZOOKEEPER_PREFIX }, known);
console.log(`CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER ${cluster};\n`);
for (const migration of migrations) {
  console.log(`-- ${migration.name}`);
  for (const statement of splitStatements(renderMigration(migration.sql, variables))) {
    for (const rendered of renderer.render(statement)) console.log(`${rendered};\n`);
  }
}
