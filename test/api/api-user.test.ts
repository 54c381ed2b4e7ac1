// The `api` ClickHouse user the API runs as in production: it reads the `runlens`
// database and cannot write to it (readonly=2), and /healthz passes through it.
// The api user may only see `runlens` (allow_databases), so the proof uses a probe table
// there with a unique name, dropped afterwards; the shared schema itself is left alone
// (migrating it from a test would record whatever migration files are in the tree).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { toClickHouseError } from '../../clickhouse/clickhouse-error.ts';
import { localClickhouseUrl, localDefaults } from '../../stack/local-defaults.ts';
import { uniqueName } from '../support/poll.ts';
import { TOKENS } from './api-fixture.ts';

let api: ClickHouseClient;
let admin: ClickHouseClient;
const probe = `${localDefaults.database}.${uniqueName('api_user_probe')}`;

beforeAll(async () => {
  admin = createClickHouseClient({ url: localClickhouseUrl, username: localDefaults.users.admin.name, password: localDefaults.users.admin.password });
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${localDefaults.database}` });
  await admin.command({ query: `CREATE TABLE ${probe} (n UInt32) ENGINE = MergeTree ORDER BY n` });
  await admin.command({ query: `INSERT INTO ${probe} VALUES (7)` });
  api = createClickHouseClient({ url: localClickhouseUrl, username: localDefaults.users.api.name, password: localDefaults.users.api.password, database: localDefaults.database });
});

afterAll(async () => {
  await admin?.command({ query: `DROP TABLE IF EXISTS ${probe}` });
  await api?.close();
  await admin?.close();
});

describe('the api ClickHouse user', () => {
  it('reads runlens', async () => {
    const result = await api.query({ query: `SELECT n FROM ${probe}`, format: 'JSONEachRow' });
    expect(await result.json()).toEqual([{ n: 7 }]);
  });

  it('cannot insert into runlens', async () => {
    const error = await api.command({ query: `INSERT INTO ${probe} VALUES (8)` }).then(() => null, (caught: unknown) => toClickHouseError(caught, 'insert'));
    expect(error?.message).toMatch(/readonly/i);
    const result = await api.query({ query: `SELECT count() AS n FROM ${probe}`, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
    expect(await result.json()).toEqual([{ n: 1 }]);
  });

  it('cannot read a database other than runlens', async () => {
    const error = await api.query({ query: 'SELECT 1 FROM default.nonexistent_for_api_test', format: 'JSONEachRow' }).then(() => null, (caught: unknown) => toClickHouseError(caught, 'select'));
    expect(error?.message).toMatch(/Access denied to database default/);
  });

  it('passes /healthz of an app built on it', async () => {
    const { app } = createApp({ clickhouse: api, config: parseApiConfig({ RUNLENS_API_TOKENS: `viewer:${TOKENS.viewer}` }), log: () => {} });
    const response = await app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', checks: { clickhouse_query: { ok: true } } });
  });
});
