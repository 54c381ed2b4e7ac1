// Retention by dropping whole months (18.16 has no TTL). Every table's partition starts
// with toYYYYMM(run_date): `runs` by that alone, the rollups by (month of run_date, month
// of bucket), whose partition IDs read `202511-202512`. A partition is dropped by its ID
// when its run_date month is older than the table keeps.
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
import { sql, SqlFragment, str } from '../../clickhouse/sql.ts';
import type { RetentionDays } from '../config.ts';
import { placementOf, type Placement } from './placement.ts';
import { oldestKeptMonth, RETAINED_TABLES } from './tiers.ts';

/** Notes are only needed until the maintainer has read them; two days is plenty. */
const DIRTY_NOTES_KEEP_DAYS = 2;

export interface DroppedPartition {
  table: string;
  /** The partition's run_date month (YYYYMM; YYYYMMDD for the dirty notes). */
  partition: number;
  /** ClickHouse's partition ID, e.g. `202511-202512`. */
  partitionId: string;
}

interface Partition {
  id: string;
  /** The partition key's first element: the run_date month (or day). */
  first: number;
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
      if (partition.first >= oldest) continue;
      await dropPartition(admin, database, placement, partition.id);
      dropped.push({ table, partition: partition.first, partitionId: partition.id });
    }
  }
  const notesCutoff = new Date(nowMs - DIRTY_NOTES_KEEP_DAYS * 86_400_000);
  const oldestNotes = notesCutoff.getUTCFullYear() * 10_000 + (notesCutoff.getUTCMonth() + 1) * 100 + notesCutoff.getUTCDate();
  const notes = await placementOf(admin, database, 'rollup_dirty');
  for (const partition of await partitions(admin, database, notes)) {
    if (partition.first >= oldestNotes) continue;
    await dropPartition(admin, database, notes, partition.id);
    dropped.push({ table: 'rollup_dirty', partition: partition.first, partitionId: partition.id });
  }
  return dropped;
}

async function partitions(admin: ClickHouseClient, database: string, placement: Placement): Promise<Partition[]> {
  const parts = placement.kind === 'sharded'
    ? sql`cluster(${str(placement.cluster)}, 'system', 'parts') WHERE database = ${str(database)} AND table = ${str(placement.local)}`
    : sql`system.parts WHERE database = ${str(database)} AND table = ${str(placement.table)}`;
  const query = sql`SELECT DISTINCT partition_id FROM ${parts} AND active`;
  try {
    const rows = await (await admin.query({ query: query.text, format: 'JSONEachRow' })).json<{ partition_id: string }>();
    // Only IDs of our own keys: numbers joined by '-' (anything else is left alone).
    return rows
      .map((row) => /^(\d{6,8})(?:-\d+)*$/.exec(row.partition_id))
      .filter((match) => match !== null)
      .map((match) => ({ id: match[0], first: Number(match[1]) }));
  } catch (error) {
    throw toClickHouseError(error, `listing the partitions of ${placement.table}`);
  }
}

async function dropPartition(admin: ClickHouseClient, database: string, placement: Placement, partitionId: string): Promise<void> {
  const target = placement.kind === 'sharded'
    ? SqlFragment.trusted(`${database}.${placement.local} ON CLUSTER ${placement.cluster}`)
    : SqlFragment.trusted(`${database}.${placement.table}`);
  const query = sql`ALTER TABLE ${target} DROP PARTITION ID ${str(partitionId)}`;
  try {
    await admin.command({ query: query.text });
  } catch (error) {
    throw toClickHouseError(error, `dropping partition ${partitionId} of ${placement.table}`);
  }
}
