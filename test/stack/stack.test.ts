// The local stack: both services answer, and each ClickHouse user can do what its
// role needs and no more. Runs against the real stack (brought up by the global
// setup); every test uses its own table or topic name so files can run in parallel.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseQuery, type ChCredentials } from '../../stack/clickhouse-http.ts';
import { withKafkaAdmin } from '../../stack/kafka-topic.ts';
import { ensureTopic, parseStackConfig, stackStatus, stackUp, TopicMismatchError } from '../../stack/stack.ts';
import { localDefaults } from '../../stack/local-defaults.ts';

const config = parseStackConfig();
const { users, database, httpUrl } = { ...config.clickhouse };
const suffix = randomBytes(4).toString('hex');
const table = `${database}.stack_smoke_${suffix}`;
// A table outside the runlens database, which only admin may touch.
const foreignTable = `default.stack_smoke_${suffix}`;

async function run(user: ChCredentials, sql: string) {
  return clickhouseQuery(httpUrl, user, sql);
}

/** 18.16 errors read "Code: 164, e.displayText() = ..."; @clickhouse/client can't parse them either. */
function errorCode(body: string): number | null {
  const match = /Code: (\d+)/.exec(body);
  return match ? Number(match[1]) : null;
}

const READONLY = 164;
const DDL_PROHIBITED = 392;
const ACCESS_DENIED_TO_DATABASE = 291;

beforeAll(async () => {
  const created = await run(users.admin, `CREATE TABLE ${table} (d Date, key String, n UInt64) ENGINE = MergeTree ORDER BY (d, key)`);
  expect(created.body).toBe('');
  expect((await run(users.admin, `CREATE TABLE ${foreignTable} (a UInt8) ENGINE = Memory`)).body).toBe('');
});

afterAll(async () => {
  await run(users.admin, `DROP TABLE IF EXISTS ${table}`);
  await run(users.admin, `DROP TABLE IF EXISTS ${foreignTable}`);
});

describe('the local stack', () => {
  it('reports both services up, with the endpoints from the config', async () => {
    const status = await stackStatus({ config });
    expect(status.clickhouse).toMatchObject({ httpUrl: config.clickhouse.httpUrl, up: true });
    expect(status.kafka).toMatchObject({ brokers: config.kafka.brokers, up: true });
    expect(status.clickhouse.pid).toBeGreaterThan(0);
    expect(status.kafka.pid).toBeGreaterThan(0);
  });

  it('does nothing when brought up a second time', async () => {
    const before = await stackStatus({ config });
    const started = Date.now();
    const after = await stackUp({ config });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(after).toEqual(before);
  });

  it('has the run-events topic with its partitions', async () => {
    const metadata = await withKafkaAdmin(config.kafka.brokers, (admin) =>
      admin.fetchTopicMetadata({ topics: [config.kafka.topic] }),
    );
    expect(metadata.topics[0]?.partitions).toHaveLength(config.kafka.partitions);
  });

  it('creates a topic once and refuses a different partition count later', async () => {
    const topic = `stack-smoke-${suffix}`;
    expect(await ensureTopic(config.kafka.brokers, topic, 3)).toBe(true);
    expect(await ensureTopic(config.kafka.brokers, topic, 3)).toBe(false);
    await expect(ensureTopic(config.kafka.brokers, topic, 6)).rejects.toBeInstanceOf(TopicMismatchError);
    await withKafkaAdmin(config.kafka.brokers, (admin) => admin.deleteTopics({ topics: [topic] }));
  });
});

describe('ClickHouse users', () => {
  it('every user can run a query, so no profile holds an unknown setting', async () => {
    for (const user of Object.values(users)) {
      const result = await run(user, 'SELECT 1');
      expect(result.body.trim(), user.name).toBe('1');
    }
  });

  it('the default profile carries the settings the Kafka engine and migrations rely on', async () => {
    const result = await run(
      users.admin,
      `SELECT name, value FROM system.settings WHERE name IN ('stream_flush_interval_ms', 'allow_experimental_low_cardinality_type', 'date_time_input_format', 'input_format_allow_errors_num') ORDER BY name FORMAT TSV`,
    );
    expect(result.body.trim().split('\n')).toEqual([
      'allow_experimental_low_cardinality_type\t1',
      'date_time_input_format\tbest_effort',
      'input_format_allow_errors_num\t0',
      'stream_flush_interval_ms\t500',
    ]);
  });

  it('the default user is not an open door', async () => {
    const result = await run({ name: 'default', password: '' }, 'SELECT 1');
    expect(result.ok).toBe(false);
  });

  it('a wrong password is refused', async () => {
    const result = await run({ name: users.admin.name, password: 'not-the-password' }, 'SELECT 1');
    expect(result.status).toBe(401);
  });

  it('ingest can insert but not create or drop tables', async () => {
    expect((await run(users.ingest, `INSERT INTO ${table} VALUES ('2024-01-05', 'a', 1)`)).body).toBe('');
    expect(errorCode((await run(users.ingest, `CREATE TABLE ${table}_x (a UInt8) ENGINE = Memory`)).body)).toBe(DDL_PROHIBITED);
    expect(errorCode((await run(users.ingest, `DROP TABLE ${table}`)).body)).toBe(DDL_PROHIBITED);
  });

  it('api can read but not insert, create, or lift its readonly level', async () => {
    expect((await run(users.api, `SELECT count() FROM ${table}`)).ok).toBe(true);
    expect(errorCode((await run(users.api, `INSERT INTO ${table} VALUES ('2024-01-05', 'b', 2)`)).body)).toBe(READONLY);
    expect(errorCode((await run(users.api, `CREATE TABLE ${table}_x (a UInt8) ENGINE = Memory`)).body)).toBe(READONLY);
    expect(errorCode((await run(users.api, `SELECT 1 SETTINGS readonly = 0`)).body)).toBe(READONLY);
  });

  it('api may pass per-query settings, which the dashboard needs', async () => {
    const result = await run(users.api, `SELECT 1 SETTINGS max_threads = 1`);
    expect(result.body.trim()).toBe('1');
  });

  it('sql can read but not insert, create, or change its limits', async () => {
    expect((await run(users.sql, `SELECT count() FROM ${table}`)).ok).toBe(true);
    expect(errorCode((await run(users.sql, `INSERT INTO ${table} VALUES ('2024-01-05', 'c', 3)`)).body)).toBe(READONLY);
    expect(errorCode((await run(users.sql, `CREATE TABLE ${table}_x (a UInt8) ENGINE = Memory`)).body)).toBe(READONLY);
    expect((await run(users.sql, `SELECT 1 SETTINGS max_result_rows = 0`)).ok).toBe(false);
  });

  it('sql gets an error, not a truncated result, past 100,000 rows', async () => {
    const result = await run(users.sql, 'SELECT number FROM system.numbers LIMIT 200000');
    expect(result.ok).toBe(false);
    expect(result.body).toContain('Limit for result exceeded');
  });

  it('api and sql cannot read tables outside the runlens database', async () => {
    for (const user of [users.api, users.sql]) {
      expect(errorCode((await run(user, `SELECT count() FROM ${foreignTable}`)).body), user.name).toBe(ACCESS_DENIED_TO_DATABASE);
    }
  });
});

describe('stack configuration', () => {
  it('uses the local defaults when no variable is set', () => {
    const defaults = parseStackConfig({});
    expect(defaults.clickhouse.httpUrl).toBe(`http://127.0.0.1:${localDefaults.clickhouseHttpPort}`);
    expect(defaults.kafka).toMatchObject({ brokers: `127.0.0.1:${localDefaults.kafkaPort}`, topic: localDefaults.runEventsTopic });
    expect(defaults.stateDir.endsWith(`/${localDefaults.stateDir}`)).toBe(true);
    expect(Object.isFrozen(defaults.kafka)).toBe(true);
  });

  it('derives the listening ports from the URL and broker variables', () => {
    const moved = parseStackConfig({ RUNLENS_CLICKHOUSE_URL: 'http://localhost:28123', RUNLENS_KAFKA_BROKERS: '127.0.0.1:29092' });
    expect(moved.clickhouse).toMatchObject({ httpPort: 28123, httpUrl: 'http://127.0.0.1:28123' });
    expect(moved.kafka).toMatchObject({ port: 29092, brokers: '127.0.0.1:29092' });
  });

  it('names the offending variable when a value is invalid', () => {
    expect(() => parseStackConfig({ RUNLENS_KAFKA_BROKERS: 'kafka.example.com:9092' })).toThrow(/RUNLENS_KAFKA_BROKERS="kafka.example.com:9092"/);
    expect(() => parseStackConfig({ RUNLENS_CLICKHOUSE_TCP_PORT: 'nine' })).toThrow(/RUNLENS_CLICKHOUSE_TCP_PORT/);
  });
});
