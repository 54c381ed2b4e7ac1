// Retention by dropping whole months (18.16 has no TTL). Every table is partitioned by
// toYYYYMM(run_date), a UInt32: the partition literal is an unquoted number.
// Rollups outlive raw runs: each table has its own limit (config: RETENTION_*_DAYS).
//
// On a cluster the names are Distributed tables, which hold no parts: the partitions are
// listed from every shard's `<table>_local` (the `cluster()` table function reads one
// replica per shard) and dropped with `ALTER TABLE <table>_local ON CLUSTER … DROP
// PARTITION`, which ClickHouse runs on one replica per shard and replicates to the others.
// A shard that is down fails the listing (this cycle drops nothing; the next one retries);
// a replica that is down applies the queued DROP when it comes back.
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { num, sql, SqlFragment, str } from '../../clickhouse/sql.ts';
import type { RetentionDays } from '../config.ts';
import { placementOf, type Placement } from './placement.ts';
import { oldestKeptMonth, RETAINED_TABLES } from './tiers.ts';

/** Notes are only needed until the maintainer has read them; two days is plenty. */
const DIRTY_NOTES_KEEP_DAYS = 2;

export interface DroppedPartition {
  table: string;
  partition: number;
}

export async function applyRetention(
  admin: ClickHouseClient,
  database: string,
  retention: RetentionDays,
  nowMs: number,
): Promise<DroppedPartition[]> {
  const dropped: DroppedPartition[] = [];
  for (const { table, days } of RETAINED_TABLES) {
    const oldest = oldestKeptMonth(retention[days], nowMs);
    if (oldest === null) continue;
    const placement = await placementOf(admin, database, table);
    for (const partition of await partitions(admin, database, placement)) {
      if (partition >= oldest) continue;
      await dropPartition(admin, database, placement, partition);
      dropped.push({ table, partition });
    }
  }
  const notesCutoff = new Date(nowMs - DIRTY_NOTES_KEEP_DAYS * 86_400_000);
  const oldestNotes = notesCutoff.getUTCFullYear() * 10_000 + (notesCutoff.getUTCMonth() + 1) * 100 + notesCutoff.getUTCDate();
  const notes = await placementOf(admin, database, 'rollup_dirty');
  for (const partition of await partitions(admin, database, notes)) {
    if (partition >= oldestNotes) continue;
    await dropPartition(admin, database, notes, partition);
    dropped.push({ table: 'rollup_dirty', partition });
  }
  return dropped;
}

async function partitions(admin: ClickHouseClient, database: string, placement: Placement): Promise<number[]> {
  const parts = placement.kind === 'sharded'
    ? sql`cluster(${str(placement.cluster)}, 'system', 'parts') WHERE database = ${str(database)} AND table = ${str(placement.local)}`
    : sql`system.parts WHERE database = ${str(database)} AND table = ${str(placement.table)}`;
  const query = sql`SELECT DISTINCT partition FROM ${parts} AND active`;
  try {
    const rows = await (await admin.query({ query: query.text, format: 'JSONEachRow' })).json<{ partition: string }>();
    return rows.map((row) => row.partition).filter((partition) => /^\d{6,8}$/.test(partition)).map(Number);
  } catch (error) {
    throw toClickHouseError(error, `listing the partitions of ${placement.table}`);
  }
}

async function dropPartition(admin: ClickHouseClient, database: string, placement: Placement, partition: number): Promise<void> {
  const target = placement.kind === 'sharded'
    ? SqlFragment.trusted(`${database}.${placement.local} ON CLUSTER ${placement.cluster}`)
    : SqlFragment.trusted(`${database}.${placement.table}`);
  const query = sql`ALTER TABLE ${target} DROP PARTITION ${num(partition)}`;
  try {
    await admin.command({ query: query.text });
  } catch (error) {
    throw toClickHouseError(error, `dropping partition ${partition} of ${placement.table}`);
  }
}
