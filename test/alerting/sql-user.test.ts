// In production rule SQL runs as the `sql` user: readonly=1, limited to the `runlens`
// database. The other tests run it as admin against private databases; this one proves
// the real user can run a starter rule's query against `runlens`, and cannot write.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRuleSql, runRuleQuery } from '../../api/alerting/rule-query.ts';
import { starterRulesDir } from '../../api/alerting/config.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { migrate, migrationsDir } from '../../clickhouse/migrate.ts';
import { localClickhouseUrl, localDefaults } from '../../stack/local-defaults.ts';

let admin: ClickHouseClient;
let sqlUser: ClickHouseClient;

beforeAll(async () => {
  const { users, database } = localDefaults;
  admin = createClickHouseClient({ url: localClickhouseUrl, username: users.admin.name, password: users.admin.password });
  sqlUser = createClickHouseClient({ url: localClickhouseUrl, username: users.sql.name, password: users.sql.password, database });
  // The local `runlens` database may not be migrated yet: apply 0001 (runs) only, the
  // same file and checksum `runlens migrate` records, so a later full migrate agrees.
  const only = mkdtempSync(join(tmpdir(), 'runlens-migrations-'));
  cpSync(join(migrationsDir, '0001_runs.sql'), join(only, '0001_runs.sql'));
  await migrate(admin, { database, kafkaBrokers: 'unused:1', kafkaTopic: 'unused', kafkaGroup: 'unused' }, { dir: only });
});

afterAll(async () => {
  await sqlUser?.close();
  await admin?.close();
});

describe('the sql user', () => {
  it('runs every starter rule query against runlens', async () => {
    for (const file of ['jobs.json', 'ingest.json']) {
      const { rules } = JSON.parse(readFileSync(join(starterRulesDir, file), 'utf8')) as { rules: Array<{ name: string; sql: string }> };
      for (const rule of rules) {
        const observations = await runRuleQuery({ client: sqlUser, sql: renderRuleSql(rule.sql, localDefaults.database), timeoutMs: 10_000, killQuery: async () => {} });
        expect(Array.isArray(observations), rule.name).toBe(true);
      }
    }
  });

  it('cannot write or create', async () => {
    await expect(sqlUser.command({ query: `INSERT INTO ${localDefaults.database}.runs (key) VALUES ('alert-probe')` })).rejects.toThrow(/readonly/);
    await expect(sqlUser.command({ query: `CREATE TABLE ${localDefaults.database}.alert_probe (x UInt8) ENGINE = Memory` })).rejects.toThrow(/readonly/);
  });
});
