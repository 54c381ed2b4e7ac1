// Retention by dropping whole months (18.16 has no TTL). Every table is partitioned by
// toYYYYMM(run_date), a UInt32: the partition literal is an unquoted number.
// Rollups outlive raw runs: each table has its own limit (config: RETENTION_*_DAYS).
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { num, sql, SqlFragment, str } from '../../clickhouse/sql.ts';
import type { RetentionDays } from '../config.ts';
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
    for (const partition of await partitions(admin, database, table)) {
      if (partition >= oldest) continue;
      await dropPartition(admin, database, table, partition);
      dropped.push({ table, partition });
    }
  }
  const notesCutoff = new Date(nowMs - DIRTY_NOTES_KEEP_DAYS * 86_400_000);
  const oldestNotes = notesCutoff.getUTCFullYear() * 10_000 + (notesCutoff.getUTCMonth() + 1) * 100 + notesCutoff.getUTCDate();
  for (const partition of await partitions(admin, database, 'rollup_dirty')) {
    if (partition >= oldestNotes) continue;
    await dropPartition(admin, database, 'rollup_dirty', partition);
    dropped.push({ table: 'rollup_dirty', partition });
  }
  return dropped;
}

async function partitions(admin: ClickHouseClient, database: string, table: string): Promise<number[]> {
  const query = sql`SELECT DISTINCT partition FROM system.parts WHERE database = ${str(database)} AND table = ${str(table)} AND active`;
  try {
    const rows = await (await admin.query({ query: query.text, format: 'JSONEachRow' })).json<{ partition: string }>();
    return rows.map((row) => row.partition).filter((partition) => /^\d{6,8}$/.test(partition)).map(Number);
  } catch (error) {
    throw toClickHouseError(error, `listing the partitions of ${table}`);
  }
}

async function dropPartition(admin: ClickHouseClient, database: string, table: string, partition: number): Promise<void> {
  const query = sql`ALTER TABLE ${SqlFragment.trusted(`${database}.${table}`)} DROP PARTITION ${num(partition)}`;
  try {
    await admin.command({ query: query.text });
  } catch (error) {
    throw toClickHouseError(error, `dropping partition ${partition} of ${table}`);
  }
}
