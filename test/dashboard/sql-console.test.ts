// POST /api/v1/sql: the console runs one read statement as the read-only `sql` ClickHouse
// user (readonly=1, its profile's limits), maps ClickHouse's refusals to clear 4xx, caps
// the rows it returns and rate-limits per token. The `sql` user may read only `runlens`
// (allow_databases), so these tests point the console at that database and read only
// system tables and numbers().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { checkStatement } from '../../api/sql-console/statement.ts';
import { executeStatement, sqlResponse } from '../../api/sql-console/sql-runner.ts';
import { splitTsvLine } from '../../api/sql-console/tsv.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { localDefaults } from '../../stack/local-defaults.ts';

const TOKENS = 'viewer:viewer-token-1,analyst:analyst-token-1,admin:admin-token-1';
let api: Api;
let limited: Api;
let sqlUser: ClickHouseClient;
let apiUser: ClickHouseClient;

function post(app: Api, query: string, token = 'analyst-token-1') {
  return app.app.request('/api/v1/sql', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ query }) });
}

beforeAll(() => {
  const config = parseApiConfig({ RUNLENS_API_TOKENS: TOKENS, RUNLENS_SQL_MAX_ROWS: '100' });
  const conn = { url: config.clickhouse.url, database: config.clickhouse.database };
  sqlUser = createClickHouseClient({ ...conn, ...config.clickhouse.sql });
  apiUser = createClickHouseClient({ ...conn, ...config.clickhouse.api });
  api = createApp({ clickhouse: apiUser, sqlClickhouse: sqlUser, config, log: () => {} });
  const strict = parseApiConfig({ RUNLENS_API_TOKENS: TOKENS, RUNLENS_SQL_RATE_PER_MINUTE: '15' });
  limited = createApp({ clickhouse: apiUser, sqlClickhouse: sqlUser, config: strict, log: () => {} });
});

afterAll(async () => {
  await sqlUser?.close();
  await apiUser?.close();
});

describe('the SQL console as the real sql user', () => {
  it('answers a SELECT with typed columns, rows and timing', async () => {
    const response = await post(api, "SELECT number AS n, toString(number) AS s, if(number = 1, NULL, number / 2) AS half, 'tab\\there' AS t FROM system.numbers LIMIT 3");
    expect(response.status).toBe(200);
    const body = sqlResponse.parse(await response.json());
    expect(body.columns.map((column) => [column.name, column.numeric])).toEqual([['n', true], ['s', false], ['half', true], ['t', false]]);
    expect(body.rows).toEqual([[0, '0', 0, 'tab\there'], [1, '1', null, 'tab\there'], [2, '2', 1, 'tab\there']]);
    expect(body.truncated).toBe(false);
    expect(body.elapsed_ms).toBeGreaterThan(0);
  });

  it('is refused writes by ClickHouse itself (readonly=1), reported as 400 read-only', async () => {
    // Below the console's own statement check: what the server says to the sql user.
    for (const statement of [`CREATE TABLE ${localDefaults.database}.sql_console_probe (a UInt8) ENGINE = Memory`, 'INSERT INTO system.numbers VALUES (1)', `DROP TABLE IF EXISTS ${localDefaults.database}.sql_console_probe`]) {
      const error = await executeStatement(statement, { clickhouse: sqlUser, maxRows: 10 }).then(() => null, (failure: unknown) => failure as { status?: number; message?: string });
      expect(error?.status, statement).toBe(400);
      expect(error?.message, statement).toMatch(/^read-only: /);
    }
  });

  it('refuses writes, FORMAT, SETTINGS and a second statement before they reach ClickHouse', async () => {
    for (const [query, message] of [
      ['DROP TABLE runs', /^read-only: the SQL console runs SELECT/],
      ['SELECT 1 FORMAT JSON', /FORMAT/],
      ['SELECT 1 SETTINGS max_result_rows = 10', /^read-only: SETTINGS/],
      ['SELECT 1; DROP TABLE runs', /one statement at a time/],
      ['SELEC 1', /^syntax error/],
      ['   ', /empty/],
    ] as const) {
      const response = await post(api, query);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message, query).toMatch(message);
    }
    // A keyword inside a string or comment is not a clause.
    expect((await post(api, "SELECT 'FORMAT; SETTINGS' AS x -- DROP TABLE\n")).status).toBe(200);
  });

  it("maps ClickHouse's own errors to 400s with its message", async () => {
    const syntax = await post(api, 'SELECT FROM WHERE');
    expect(syntax.status).toBe(400);
    expect(((await syntax.json()) as { error: { message: string } }).error.message).toMatch(/^syntax error: /);
    const unknown = await post(api, 'SELECT nope FROM system.one');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/nope/);
  });

  it("reports the sql user's result limit (max_result_rows) as a limit", async () => {
    const response = await post(api, 'SELECT number FROM system.numbers LIMIT 200000');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/^limit: .*max_result_rows/);
  });

  it('returns at most its row cap and says the result was truncated', async () => {
    const body = sqlResponse.parse(await (await post(api, 'SELECT number FROM system.numbers LIMIT 5000')).json());
    expect(body.rows).toHaveLength(100);
    expect(body.truncated).toBe(true);
  });

  it('needs the analyst role', async () => {
    expect((await post(api, 'SELECT 1', 'viewer-token-1')).status).toBe(403);
    expect((await post(api, 'SELECT 1', 'admin-token-1')).status).toBe(200);
  });

  it('rate-limits per token with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(limited, 'SELECT 1')).status);
    const refused = await post(limited, 'SELECT 1');
    // 15 a minute: bursts of 3.
    expect(statuses).toEqual([200, 200, 200]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another token has its own bucket.
    expect((await post(limited, 'SELECT 1', 'admin-token-1')).status).toBe(200);
  });
});

describe('statement and TSV parsing', () => {
  it('finds the first keyword past comments and parentheses', () => {
    expect(checkStatement('/* hi */ -- x\n  (SELECT 1) ;; ').keyword).toBe('SELECT');
    expect(checkStatement('with 1 as x select x').text).toBe('with 1 as x select x');
  });

  it('reads TabSeparated escapes and \\N', () => {
    expect(splitTsvLine('a\\tb\t\\N\tc\\\\d\t')).toEqual(['a\tb', null, 'c\\d', '']);
  });
});
