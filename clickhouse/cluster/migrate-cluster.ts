// `runlens migrate --cluster`: the same migrations, rendered for the cluster
// (render.ts) through migrate.ts's render hook. Run it against one node, always the same
// one: the bookkeeping (schema_migrations, the migration lock) lives on that node, while
// every table, view and database is created ON CLUSTER, on all of them.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../clickhouse-error.ts';
import { loadMigrations, migrate, renderMigration, splitStatements, type MigrateResult, type MigrationVariables } from '../migrate.ts';
import { createClusterRenderer, type ClusterLayout } from './render.ts';

export async function migrateCluster(
  client: ClickHouseClient,
  variables: MigrationVariables,
  layout: ClusterLayout,
  options: { log?: (line: string) => void; dir?: string } = {},
): Promise<MigrateResult> {
  const [createDatabase] = createClusterRenderer(layout).render(`CREATE DATABASE IF NOT EXISTS ${variables.database}`);
  try {
    await client.command({ query: createDatabase! });
  } catch (error) {
    throw toClickHouseError(error, createDatabase!);
  }
  // Every statement of every migration, so that an ALTER knows what its table became
  // even when the CREATE was applied in an earlier run.
  const known = loadMigrations(options.dir).flatMap((migration) => splitStatements(renderMigration(migration.sql, variables)));
  const renderer = createClusterRenderer(layout, known);
  return migrate(client, variables, { ...options, render: (statement) => renderer.render(statement) });
}
