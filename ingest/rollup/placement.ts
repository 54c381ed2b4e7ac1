// Where a table's rows live: on one node, or, on a cluster (clickhouse/cluster), in the
// `<name>_local` tables of every shard behind the Distributed table `<name>`. Partition
// operations (retention) must reach the local tables, and writer coordination must be
// visible from every node, so both ask here. Read from system.tables: the schema says it.
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseError, toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { sql, str } from '../../clickhouse/sql.ts';

export type Placement =
  | { kind: 'single'; table: string }
  /** `cluster` and `local` come from the Distributed engine's arguments (plain identifiers, checked). */
  | { kind: 'sharded'; table: string; cluster: string; local: string };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Rows of system.tables. 18.16 fails such a read with Code 60 ("Table … doesn't exist")
 * when another table of the database is dropped while it lists them (the writer lock's
 * table, say): asked again, up to 5 times.
 */
async function tablesQuery<T>(client: ClickHouseClient, text: string, context: string): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await client.query({ query: text, format: 'JSONEachRow' })).json<T>();
    } catch (error) {
      const failure = toClickHouseError(error, context);
      if (failure.code !== 60 || attempt >= 5) throw failure;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

export async function placementOf(client: ClickHouseClient, database: string, table: string): Promise<Placement> {
  const query = sql`SELECT engine, engine_full FROM system.tables WHERE database = ${str(database)} AND name = ${str(table)}`;
  const rows = await tablesQuery<{ engine: string; engine_full: string }>(client, query.text, `reading where ${table} is stored`);
  const row = rows[0];
  if (!row || row.engine !== 'Distributed') return { kind: 'single', table };
  const args = /^Distributed\(\s*'?(\w+)'?\s*,\s*'?(\w+)'?\s*,\s*'?(\w+)'?/.exec(row.engine_full);
  const [, cluster = '', , local = ''] = args ?? [];
  if (!IDENT.test(cluster) || !IDENT.test(local)) throw new Error(`${database}.${table}: cannot read the Distributed engine's cluster and local table from ${row.engine_full}`);
  return { kind: 'sharded', table, cluster, local };
}

/**
 * The cluster the database is sharded over (read from `runs`), or null on a single node.
 * Before the migrations created `runs` there is no answer yet: a retriable error (60), so
 * a caller that remembers the answer does not remember a wrong one.
 */
export async function clusterOf(client: ClickHouseClient, database: string): Promise<string | null> {
  const exists = sql`SELECT count() AS n FROM system.tables WHERE database = ${str(database)} AND name = 'runs'`;
  const found = await tablesQuery<{ n: string | number }>(client, exists.text, 'reading where runs is stored');
  if (Number(found[0]?.n ?? 0) === 0) throw new ClickHouseError(`${database}.runs does not exist yet (run runlens migrate)`, 60, true);
  const placement = await placementOf(client, database, 'runs');
  return placement.kind === 'sharded' ? placement.cluster : null;
}
