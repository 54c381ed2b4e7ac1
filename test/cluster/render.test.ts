// The cluster renderer on the real migrations and on the statement kinds future
// migrations may add. Pure: no server needed.
import { describe, expect, it } from 'vitest';
import { createClusterRenderer, ClusterRenderError } from '../../clickhouse/cluster/render.ts';
import { shardingKeyFor } from '../../clickhouse/cluster/sharding.ts';
import { loadMigrations, renderMigration, splitStatements } from '../../clickhouse/migrate.ts';

const layout = { cluster: 'runlens', zooKeeperPrefix: '/runlens/tables' };
const variables = { database: 'rl', kafkaBrokers: 'b:1', kafkaTopic: 't', kafkaGroup: 'g' };
const statements = loadMigrations().flatMap((migration) => splitStatements(renderMigration(migration.sql, variables)));

function renderAll(): string[] {
  const renderer = createClusterRenderer(layout, statements);
  return statements.flatMap((statement) => renderer.render(statement));
}

describe('the cluster renderer', () => {
  it('renders every statement of every migration, each ON CLUSTER', () => {
    const rendered = renderAll();
    expect(rendered.length).toBeGreaterThan(statements.length);
    // Data statements (0005's INSERT … SELECT) go through the Distributed tables as written.
    for (const statement of rendered) if (!/^INSERT\b/.test(statement)) expect(statement).toMatch(/ ON CLUSTER runlens\b/);
  });

  it('turns runs into a replicated local table and a Distributed table sharded by the run identity', () => {
    const rendered = renderAll();
    const local = rendered.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS rl.runs_local '));
    expect(local).toContain("ENGINE = ReplicatedReplacingMergeTree('/runlens/tables/{shard}/rl/runs_local', '{replica}', version)");
    expect(local).toContain('ORDER BY (run_date, key)');
    const distributed = rendered.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS rl.runs '));
    expect(distributed).toBe('CREATE TABLE IF NOT EXISTS rl.runs ON CLUSTER runlens AS rl.runs_local\nENGINE = Distributed(runlens, rl, runs_local, sipHash64(run_date, key))');
  });

  it('shards every rollup tier by its recompute unit (run_date, hour)', () => {
    const rollups = renderAll().filter((s) => /^CREATE TABLE IF NOT EXISTS rl\.rollup_(runs|metrics|durations)_\w+ ON/.test(s) && !s.includes('_local '));
    // 0003's tables, 0005's re-sorted, 0006's re-grained and 0007's re-partitioned copies, 0007's month tier, 0008's day durations
    expect(rollups).toHaveLength(26);
    for (const statement of rollups) expect(statement).toContain('cityHash64(run_date, toStartOfHour(bucket)))');
  });

  it('renames the local tables of sharded tables, so the Distributed table reads the renamed-in one', () => {
    const renderer = createClusterRenderer(layout, statements);
    expect(renderer.render('RENAME TABLE rl.rollup_runs_day TO rl.rollup_runs_day_presort, rl.rollup_runs_day_resorted TO rl.rollup_runs_day')).toEqual([
      'RENAME TABLE rl.rollup_runs_day_local TO rl.rollup_runs_day_presort_local, rl.rollup_runs_day_resorted_local TO rl.rollup_runs_day_local ON CLUSTER runlens',
    ]);
    expect(renderer.render('DROP TABLE IF EXISTS rl.rollup_runs_day_presort')).toEqual([
      'DROP TABLE IF EXISTS rl.rollup_runs_day_presort ON CLUSTER runlens',
      'DROP TABLE IF EXISTS rl.rollup_runs_day_presort_local ON CLUSTER runlens',
    ]);
  });

  it('keeps views as views on every node, reading the Distributed tables by their usual names', () => {
    const view = renderAll().find((s) => s.includes('rl.runs_latest'));
    expect(view).toBe('CREATE VIEW IF NOT EXISTS rl.runs_latest ON CLUSTER runlens AS\nSELECT * FROM rl.runs FINAL');
  });

  it('attaches a materialized view to the local table of its source and writes into the Distributed target', () => {
    const renderer = createClusterRenderer(layout, statements);
    const [mv] = renderer.render('CREATE MATERIALIZED VIEW IF NOT EXISTS rl.mv TO rl.rollup_state AS SELECT key AS name, 1 AS value FROM rl.runs');
    expect(mv).toBe('CREATE MATERIALIZED VIEW IF NOT EXISTS rl.mv ON CLUSTER runlens TO rl.rollup_state AS SELECT key AS name, 1 AS value FROM rl.runs_local');
  });

  it('alters columns of both tables of a sharded table, and data of the local one only', () => {
    const renderer = createClusterRenderer(layout, statements);
    expect(renderer.render('ALTER TABLE rl.runs ADD COLUMN region String')).toEqual([
      'ALTER TABLE rl.runs_local ON CLUSTER runlens ADD COLUMN region String',
      'ALTER TABLE rl.runs ON CLUSTER runlens ADD COLUMN region String',
    ]);
    expect(renderer.render('ALTER TABLE rl.runs DROP PARTITION 202401')).toEqual(['ALTER TABLE rl.runs_local ON CLUSTER runlens DROP PARTITION 202401']);
  });

  it('knows a table made sharded by an earlier migration that is not rendered again', () => {
    const renderer = createClusterRenderer(layout, statements);
    expect(renderer.kindOf('rl', 'runs')).toBe('sharded');
    expect(renderer.render('DROP TABLE IF EXISTS rl.ingest_errors')).toEqual([
      'DROP TABLE IF EXISTS rl.ingest_errors ON CLUSTER runlens',
      'DROP TABLE IF EXISTS rl.ingest_errors_local ON CLUSTER runlens',
    ]);
  });

  it('keeps node-local engines node-local, and handles engines without parentheses or with nested ones', () => {
    const renderer = createClusterRenderer(layout);
    expect(renderer.render('CREATE TABLE rl.n (a UInt8) ENGINE = Null')).toEqual(['CREATE TABLE rl.n ON CLUSTER runlens\n(a UInt8)\nENGINE = Null']);
    const [local, distributed] = renderer.render('CREATE TABLE rl.s (a UInt8, b String) -- it\'s summed\nENGINE = SummingMergeTree((a)) ORDER BY (a, b)');
    expect(local).toBe("CREATE TABLE rl.s_local ON CLUSTER runlens\n(a UInt8, b String)\nENGINE = ReplicatedSummingMergeTree('/runlens/tables/{shard}/rl/s_local', '{replica}', (a)) ORDER BY (a, b)");
    expect(distributed).toContain('Distributed(runlens, rl, s_local, cityHash64(a, b))');
    const [plain] = renderer.render('CREATE TABLE rl.m (a UInt8)\nENGINE = MergeTree\nORDER BY a');
    expect(plain).toContain("ENGINE = ReplicatedMergeTree('/runlens/tables/{shard}/rl/m_local', '{replica}')\nORDER BY a");
  });

  it('refuses what it cannot map faithfully, naming the statement', () => {
    const renderer = createClusterRenderer(layout);
    expect(() => renderer.render("CREATE TABLE rl.k (a String) ENGINE = Kafka('b:1', 't', 'g', 'JSONEachRow')")).toThrow(/Kafka engine/);
    expect(() => renderer.render('CREATE MATERIALIZED VIEW rl.v ENGINE = SummingMergeTree ORDER BY a AS SELECT 1 AS a')).toThrow(ClusterRenderError);
    expect(() => createClusterRenderer(layout, statements).render('RENAME TABLE rl.runs TO rl.runs_old, rl.runs_latest TO rl.runs')).toThrow(/RENAME TABLE rl\.runs TO/);
    expect(() => renderer.render('CREATE TABLE rl.o (d Date, k String) ENGINE = MergeTree(d, (d, k), 8192)')).toThrow(/without ORDER BY/);
  });
});

describe('sharding keys', () => {
  it('are a function of the sorting key for engines that fold rows, and random for plain facts', () => {
    expect(shardingKeyFor({ engine: 'ReplacingMergeTree', orderBy: ['run_date', 'key'] })).toBe('sipHash64(run_date, key)');
    expect(shardingKeyFor({ engine: 'ReplacingMergeTree', orderBy: ['name'] })).toBe('cityHash64(name)');
    expect(shardingKeyFor({ engine: 'MergeTree', orderBy: ['rule', 'fingerprint', 'version'] })).toBe('rand()');
  });
});
