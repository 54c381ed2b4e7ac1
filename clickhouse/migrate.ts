// Applies clickhouse/migrations/NNNN_name.sql in order, records each in
// `<database>.schema_migrations`, and is safe to run twice or from two processes at once.
//
// - Forward-only: an applied migration whose file changed is an error, never re-run.
// - Templated: `{{database}}` (and the few names in MigrationVariables) are rendered from
//   config, validated here; no other substitution exists.
// - Version-gated: a file whose first lines say `-- requires: clickhouse >= 21.6` is
//   skipped on older servers (and applied once the server is upgraded).
// - Serialised by a lock table: CREATE TABLE without IF NOT EXISTS succeeds for exactly one
//   process; the others wait. A lock older than the stale limit (a crashed migrator) is taken over.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseError } from './clickhouse-error.ts';
import { str } from './sql.ts';

export const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface MigrationVariables {
  database: string;
  kafkaBrokers: string;
  kafkaTopic: string;
  kafkaGroup: string;
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
  requires: [number, number] | null;
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
  alreadyApplied: number;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const LOCK_STALE_MS = 10 * 60_000;

export function loadMigrations(dir = migrationsDir): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new MigrationError(`${file}: migration files are named NNNN_snake_name.sql`);
      const sql = readFileSync(join(dir, file), 'utf8');
      const requires = /^--\s*requires:\s*clickhouse\s*>=\s*(\d+)\.(\d+)/m.exec(sql);
      return {
        version: Number(match[1]),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
        requires: requires ? ([Number(requires[1]), Number(requires[2])] as [number, number]) : null,
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (index > 0 && migrations[index - 1]!.version === migration.version) {
      throw new MigrationError(`two migrations share number ${migration.version}`);
    }
  });
  return migrations;
}

/** Renders `{{name}}` placeholders; an unknown placeholder is an error, not left in the SQL. */
export function renderMigration(sql: string, variables: MigrationVariables): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(variables.database)) {
    throw new MigrationError(`database name "${variables.database}" must be a plain identifier`);
  }
  const values: Record<string, string> = {
    database: variables.database,
    // Kafka names end up inside string literals: escaped by the literal module.
    kafka_brokers: str(variables.kafkaBrokers).text,
    kafka_topic: str(variables.kafkaTopic).text,
    kafka_group: str(variables.kafkaGroup).text,
  };
  return sql.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new MigrationError(`unknown placeholder {{${name}}}`);
    return value;
  });
}

/** Statements end with `;` at the end of a line; comment-only chunks are dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

export async function migrate(
  client: ClickHouseClient,
  variables: MigrationVariables,
  options: {
    log?: (line: string) => void;
    dir?: string;
    holder?: string;
    /**
     * Turns one rendered statement into the statements to run instead (clickhouse/cluster
     * plugs its ON CLUSTER / Replicated / Distributed renderer in here). Without it every
     * statement runs as written: single-node behaviour.
     */
    render?: (statement: string, migration: Migration) => string[];
  } = {},
): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const migrations = loadMigrations(options.dir);
  const db = variables.database;
  await command(client, `CREATE DATABASE IF NOT EXISTS ${db}`);
  await command(
    client,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, checksum String, applied_at DateTime)
     ENGINE = ReplacingMergeTree() ORDER BY version`,
  );
  const serverVersion = await readServerVersion(client);
  const holder = options.holder ?? `${process.pid}@${Date.now()}`;
  await takeLock(client, db, holder, log);
  try {
    const applied = await readApplied(client, db);
    const result: MigrateResult = { applied: [], skipped: [], alreadyApplied: 0 };
    for (const migration of migrations) {
      const previous = applied.get(migration.version);
      if (previous) {
        if (previous !== migration.checksum) {
          throw new MigrationError(`${migration.name} was edited after it was applied: migrations are forward-only, add a new one`);
        }
        result.alreadyApplied++;
        continue;
      }
      if (migration.requires && compareVersions(serverVersion, migration.requires) < 0) {
        log(`skip ${migration.name}: needs ClickHouse >= ${migration.requires.join('.')}, server is ${serverVersion.join('.')}`);
        result.skipped.push(migration.name);
        continue;
      }
      log(`apply ${migration.name}`);
      for (const statement of splitStatements(renderMigration(migration.sql, variables))) {
        for (const rendered of options.render ? options.render(statement, migration) : [statement]) {
          await command(client, rendered, migration.name);
        }
      }
      await client.insert({
        table: `${db}.schema_migrations`,
        values: [{ version: migration.version, name: migration.name, checksum: migration.checksum, applied_at: Math.floor(Date.now() / 1000) }],
        format: 'JSONEachRow',
        columns: ['version', 'name', 'checksum', 'applied_at'],
      });
      result.applied.push(migration.name);
    }
    return result;
  } finally {
    await command(client, `DROP TABLE IF EXISTS ${db}.schema_migrations_lock`).catch(() => {});
  }
}

async function takeLock(client: ClickHouseClient, db: string, holder: string, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + LOCK_STALE_MS + 30_000;
  let announced = false;
  for (;;) {
    try {
      await client.command({ query: `CREATE TABLE ${db}.schema_migrations_lock (holder String, taken_at DateTime) ENGINE = TinyLog` });
      await client.insert({
        table: `${db}.schema_migrations_lock`,
        values: [{ holder, taken_at: Math.floor(Date.now() / 1000) }],
        format: 'JSONEachRow',
        columns: ['holder', 'taken_at'],
      });
      return;
    } catch (error) {
      const failure = toClickHouseError(error, 'taking the migration lock');
      if (failure.code !== 57) throw failure; // 57: table already exists, someone holds it
    }
    const lockAgeMs = await readLockAge(client, db);
    if (lockAgeMs !== null && lockAgeMs > LOCK_STALE_MS) {
      log(`taking over a migration lock held for ${Math.round(lockAgeMs / 1000)} s (a migrator crashed?)`);
      await command(client, `DROP TABLE IF EXISTS ${db}.schema_migrations_lock`);
      continue;
    }
    if (!announced) {
      log('another migrator is running; waiting for it');
      announced = true;
    }
    if (Date.now() > deadline) throw new MigrationError('gave up waiting for the migration lock');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function readLockAge(client: ClickHouseClient, db: string): Promise<number | null> {
  try {
    const rows = await (await client.query({
      query: `SELECT toUInt64(now()) - toUInt64(max(taken_at)) AS age, count() AS n FROM ${db}.schema_migrations_lock`,
      format: 'JSONEachRow',
    })).json<{ age: string; n: string }>();
    const row = rows[0];
    // A lock table with no row yet: its creator is between CREATE and INSERT.
    if (!row || Number(row.n) === 0) return null;
    return Number(row.age) * 1000;
  } catch {
    return null; // dropped meanwhile: the next CREATE will tell
  }
}

async function readApplied(client: ClickHouseClient, db: string): Promise<Map<number, string>> {
  const rows = await (await client.query({
    query: `SELECT version, argMax(checksum, applied_at) AS checksum FROM ${db}.schema_migrations GROUP BY version`,
    format: 'JSONEachRow',
  })).json<{ version: number; checksum: string }>();
  return new Map(rows.map((row) => [Number(row.version), row.checksum]));
}

async function readServerVersion(client: ClickHouseClient): Promise<[number, number]> {
  const rows = await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
  const [major = 0, minor = 0] = (rows[0]?.v ?? '0.0').split('.').map(Number);
  return [major, minor];
}

function compareVersions(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

async function command(client: ClickHouseClient, query: string, context = 'migration'): Promise<void> {
  try {
    await client.command({ query });
  } catch (error) {
    throw toClickHouseError(error, `${context}: ${query.split('\n')[0]?.slice(0, 120)}`);
  }
}
