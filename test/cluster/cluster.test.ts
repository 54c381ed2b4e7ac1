// The whole pipeline on the local cluster (stack/cluster): a generated run tree → the real
// watcher → Kafka (3 brokers, RF 3, min ISR 2) → two sinks → ClickHouse (2 shards, shard 1
// replicated) through the Distributed tables, with a broker and a ClickHouse server
// killed mid-way. Opt-in: it starts seven processes and takes minutes, so it runs only
// with RUNLENS_CLUSTER_TESTS=1 (RUNLENS_CLUSTER_TEST_RUNS sets the tree's size).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { parseApiConfig } from '../../api/config.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { migrateCluster } from '../../clickhouse/cluster/migrate-cluster.ts';
import { migrate } from '../../clickhouse/migrate.ts';
import { parseIngestConfig, type IngestConfig } from '../../ingest/config.ts';
import { applyRetention } from '../../ingest/rollup/retention.ts';
import { WriterLock } from '../../ingest/rollup/writer-lock.ts';
import { createPublisher } from '../../ingest/publish/publisher.ts';
import type { RunEventPublisher } from '../../ingest/publish/run-event-publisher.ts';
import type { ClickHouseSink } from '../../ingest/sink/sink.ts';
import { startSink } from '../../ingest/sink/start-sink.ts';
import { generateTree, type ExpectedTree } from '../../ingest/simulate/generate-tree.ts';
import { openCheckpointStore } from '../../ingest/watch/checkpoint-store.ts';
import { runWatch } from '../../ingest/watch/watch-loop.ts';
import { clusterUp, parseClusterConfig, startClusterNode, stopClusterNode, type ClusterConfig } from '../../stack/cluster/cluster.ts';
import { ensureReplicatedTopic } from '../../stack/cluster/cluster-topic.ts';
import { pollUntil, uniqueName } from '../support/poll.ts';

// Run by `npm run test:cluster` (its own vitest config); `npm test` leaves this file out.
const enabled = process.env['RUNLENS_CLUSTER_TESTS'] === '1';
const RUNS = Number(process.env['RUNLENS_CLUSTER_TEST_RUNS'] ?? 200_000);
const RERUNS = 500;
const log = (line: string) => console.error(`[cluster] ${line}`);
if (!enabled) {
  console.warn('test/cluster: skipped: set RUNLENS_CLUSTER_TESTS=1 to run it (starts ZooKeeper, 3 Kafka brokers and 3 ClickHouse servers on 26xxx; see clickhouse/cluster/DEPLOYMENT.md for its duration)');
}

let cluster: ClusterConfig;
let admin: ClickHouseClient;
const nodeClients = new Map<string, ClickHouseClient>();
let configA: IngestConfig;
let configB: IngestConfig;
let sinkA: ClickHouseSink | null = null;
let sinkB: ClickHouseSink | null = null;
let publisher: RunEventPublisher;
let root: string;
let expected: ExpectedTree;
let db: string;
const stopWatching = new AbortController();
let watching: Promise<unknown> | undefined;
const timings: Record<string, number> = {};
const started = Date.now();

async function rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  return result.json<T>();
}

function node(name: string): ClickHouseClient {
  const client = nodeClients.get(name);
  if (!client) throw new Error(`no client for ${name}`);
  return client;
}

async function storedRuns(): Promise<Map<string, { status: string; attempt: number }>> {
  const found = await rows<{ id: string; status: string; attempt: number }>(
    admin,
    `SELECT concat(toString(run_date), '/', key) AS id, status, attempt FROM ${db}.runs FINAL`,
  );
  return new Map(found.map((row) => [row.id, { status: row.status, attempt: row.attempt }]));
}

async function countFinal(): Promise<number> {
  return (await rows<{ n: number }>(admin, `SELECT count() AS n FROM ${db}.runs FINAL`))[0]?.n ?? 0;
}

function mismatches(stored: Map<string, { status: string; attempt: number }>): string[] {
  const wrong = [...expected].filter(([id, run]) => stored.get(id)?.status !== run.status || stored.get(id)?.attempt !== run.attempt).map(([id]) => id);
  return [...wrong, ...[...stored.keys()].filter((id) => !expected.has(id))];
}

describe.skipIf(!enabled)(`the pipeline on a cluster (${RUNS} runs, a broker and a ClickHouse server killed mid-way)`, () => {
  beforeAll(async () => {
    cluster = parseClusterConfig();
    let t = Date.now();
    await clusterUp({ log, config: cluster });
    timings['cluster up s'] = (Date.now() - t) / 1000;
    const id = uniqueName('cluster');
    db = `t_${id}`;
    const env = {
      ...process.env,
      RUNLENS_KAFKA_BROKERS: cluster.kafka.bootstrap,
      RUNLENS_KAFKA_TOPIC: `t.${id}`,
      RUNLENS_KAFKA_SINK_GROUP: `t.${id}.sink`,
      RUNLENS_CLICKHOUSE_DATABASE: db,
      RUNLENS_SINK_FLUSH_MS: '500',
    };
    // Sink A writes through ch1, sink B through ch3 (the other replica of shard 1). Both run
    // the rollup maintainer: the writer lock is a cluster-wide lease, so one recomputes at
    // a time whichever node it talks to (ingest/rollup/cluster-lease.ts).
    configA = parseIngestConfig({ ...env, RUNLENS_CLICKHOUSE_URL: cluster.clickhouse.nodes[0]!.httpUrl, RUNLENS_ROLLUP_MAINTAIN: '1' });
    configB = parseIngestConfig({ ...env, RUNLENS_CLICKHOUSE_URL: cluster.clickhouse.nodes[2]!.httpUrl, RUNLENS_ROLLUP_MAINTAIN: '1' });
    await ensureReplicatedTopic(cluster.kafka.bootstrap, configA.kafka.topic, cluster.kafka);
    // The test's own queries copy and compare whole tables on a loaded 2-core box: no 30 s cap.
    admin = createClickHouseClient({ url: configA.clickhouse.url, ...configA.clickhouse.admin, requestTimeoutMs: 600_000 });
    for (const n of cluster.clickhouse.nodes) nodeClients.set(n.name, createClickHouseClient({ url: n.httpUrl, ...configA.clickhouse.admin, requestTimeoutMs: 600_000 }));
    const variables = { database: db, kafkaBrokers: cluster.kafka.bootstrap, kafkaTopic: configA.kafka.topic, kafkaGroup: 'unused' };
    await migrateCluster(admin, variables, { cluster: cluster.name, zooKeeperPrefix: cluster.zooKeeperPrefix }, { log });

    const work = mkdtempSync(join(tmpdir(), 'runlens-cluster-'));
    root = join(work, 'runs');
    t = Date.now();
    // Two day folders ending today: both stay active, so the watcher's periodic scan
    // finds the reruns written later.
    expected = generateTree({ root, runs: RUNS, days: 2, seed: 9 });
    timings['tree s'] = (Date.now() - t) / 1000;
    sinkA = await startSink(configA, { log });
    publisher = await createPublisher(configA, { log: () => {}, spoolDir: join(work, 'spool') });
    const checkpoint = openCheckpointStore({ checkpointDir: join(work, 'checkpoints'), root, log: () => {} });
    timings['ingest start'] = Date.now();
    watching = runWatch({ options: { root, scanIntervalMs: 5_000 }, publisher, checkpoint, log: () => {}, signal: stopWatching.signal });
  }, 900_000);

  afterAll(async () => {
    stopWatching.abort();
    await watching?.catch(() => {});
    await publisher?.close().catch(() => {});
    await sinkA?.stop().catch(() => {});
    await sinkB?.stop().catch(() => {});
    // Sizing figures for clickhouse/cluster/DEPLOYMENT.md, from the populated tables.
    if (admin) {
      for (const n of cluster.clickhouse.nodes) {
        const sizes = await rows<{ table: string; rows: number; disk: number; raw: number }>(
          node(n.name),
          `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS disk, sum(data_uncompressed_bytes) AS raw FROM system.parts WHERE database = '${db}' AND active GROUP BY table ORDER BY disk DESC`,
        ).catch(() => []);
        log(`parts on ${n.name} (shard ${n.shard}): ${JSON.stringify(sizes)}`);
      }
    }
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${db} ON CLUSTER ${cluster.name}` }).catch((error: unknown) => log(`drop: ${String(error)}`));
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${db}_single` }).catch(() => {});
    await admin?.close();
    for (const client of nodeClients.values()) await client.close();
    log(`timings: ${JSON.stringify({ ...timings, 'total s': (Date.now() - started) / 1000 })}`);
    // The cluster keeps running like the single-node stack after `npm test`; stop it with
    // `runlens stack down --cluster`.
  }, 300_000);

  it('keeps producing with acks=all and keeps every run while a broker and a ClickHouse shard are down', async () => {
    const third = Math.floor(expected.size / 3);
    await pollUntil(countFinal, (n) => n >= third, { timeoutMs: 1_800_000, intervalMs: 2_000, what: `${third} runs stored before the faults` });
    timings['first third s'] = (Date.now() - timings['ingest start']!) / 1000;

    const probeTopic = `${configA.kafka.topic}.probe`;
    await ensureReplicatedTopic(cluster.kafka.bootstrap, probeTopic, { ...cluster.kafka, partitions: 3 });

    // A crash, not a shutdown: kafka2 and ch2 (shard 2's only server) at once, while the
    // sink's inserts are in flight (a Distributed insert cut off this way fails with Code 32,
    // which must be retried, not taken for a bad batch).
    const storedAtKill = await countFinal();
    await stopClusterNode('kafka2', 'SIGKILL', { config: cluster });
    await stopClusterNode('ch2', 'SIGKILL', { config: cluster });
    const downAt = Date.now();

    // acks=all with one broker of three down: min.insync.replicas = 2 is still met once
    // the controllers have fenced the dead broker (broker.session.timeout.ms, 6 s) and moved
    // its leaderships. Clients keep the full broker list, as a deployment would.
    const kafka = new Kafka({ clientId: 'cluster-test', brokers: cluster.kafka.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10 } });
    const live = new Kafka({ clientId: 'cluster-test', brokers: [cluster.kafka.brokers[0]!.address], logLevel: logLevel.NOTHING }).admin();
    await live.connect();
    await pollUntil(async () => (await live.describeCluster()).brokers.map((b) => b.nodeId), (ids) => !ids.includes(2), { timeoutMs: 60_000, intervalMs: 500, what: 'kafka2 fenced' });
    await live.disconnect();
    timings['broker fenced s'] = (Date.now() - downAt) / 1000;
    const producer = kafka.producer();
    await producer.connect();
    const acked = await producer.send({ topic: probeTopic, acks: -1, messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    expect(acked.filter((r) => r.errorCode === 0).length).toBe(acked.length);
    expect(new Set(acked.map((r) => r.partition)).size).toBe(3);
    await producer.disconnect();

    // New runs appear while both are down (a day folder of its own): the watcher must
    // publish them into the run-events topic, and the sink must hold them until shard 2
    // is back, neither dropping nor misfiling a row.
    const admin = kafka.admin();
    await admin.connect();
    const endOffsets = async () => (await admin.fetchTopicOffsets(configA.kafka.topic)).reduce((sum, p) => sum + Number(p.high), 0);
    const before = await endOffsets();
    const extraDay = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    const extra = generateTree({ root, runs: Math.max(500, Math.floor(RUNS / 20)), days: 1, seed: 11, endDate: extraDay });
    for (const [id, run] of extra) expected.set(id, run);
    const grown = await pollUntil(endOffsets, (n) => n >= before + extra.size, { timeoutMs: 300_000, intervalMs: 1_000, what: `${extra.size} new runs published with a broker down` });
    expect(grown).toBeGreaterThanOrEqual(before + extra.size);
    await admin.disconnect();
    timings['faults down s'] = (Date.now() - downAt) / 1000;
    // (Reading `runs` now would fail too: a Distributed read needs every shard.)
    log(`${extra.size} runs published while ch2 and kafka2 were down; restarting them`);

    await startClusterNode('ch2', { config: cluster, log });
    const backAt = Date.now();
    const kafkaBack = startClusterNode('kafka2', { config: cluster, log });

    // Recovery is the sink's own: within seconds of the shard answering again, rows flow
    // (while kafka2 is still starting, and before the second sink joins, so it cannot be the
    // one doing it). The sink's retry backoff is capped at 10 s.
    await pollUntil(countFinal, (n) => n > storedAtKill, { timeoutMs: 60_000, intervalMs: 250, what: 'the sink storing again after the restart' });
    timings['resumed after restart s'] = (Date.now() - backAt) / 1000;
    await kafkaBack;

    // A second sink joins (a rebalance) and writes through another ClickHouse node.
    sinkB = await startSink(configB, { log });

    const stored = await pollUntil(storedRuns, (runs) => runs.size >= expected.size, {
      timeoutMs: 3_600_000,
      intervalMs: 5_000,
      what: `all ${expected.size} runs stored`,
    });
    timings['all stored s'] = (Date.now() - timings['ingest start']!) / 1000;
    timings['all stored after restart s'] = (Date.now() - backAt) / 1000;
    expect(stored.size).toBe(expected.size);
    expect(mismatches(stored).slice(0, 5)).toEqual([]);
    // Nothing was taken for a bad row because a server died under an insert.
    const refused = await rows<{ n: number }>(node('ch1'), `SELECT count() AS n FROM ${db}.ingest_errors WHERE source = 'sink'`);
    expect(refused[0]?.n).toBe(0);
  }, 5_400_000);

  it('replaces a rerun consumed by the other sink after a rebalance, on the shard that holds its first version', async () => {
    // Sink A leaves: every partition moves to sink B, which writes through ch3.
    await sinkA?.stop();
    sinkA = null;
    // Finished runs only: a rerun is written when the new attempt has finished.
    const finished = [...expected].filter(([, run]) => run.status !== 'running').map(([id]) => id);
    const reruns = finished.filter((_, i) => i % Math.max(1, Math.floor(finished.length / RERUNS)) === 0).slice(0, RERUNS);
    for (const id of reruns) {
      const file = join(root, id, 'run.json');
      const header = JSON.parse(readFileSync(file, 'utf8')) as { attempt: number; status: string };
      const rerun = { ...header, attempt: header.attempt + 1, status: 'failed' };
      writeFileSync(file, `${JSON.stringify(rerun, null, 2)}\n`);
      expected.set(id, { status: 'failed', attempt: rerun.attempt });
    }
    const stored = await pollUntil(storedRuns, (runs) => reruns.every((id) => runs.get(id)?.attempt === expected.get(id)!.attempt), {
      timeoutMs: 600_000,
      intervalMs: 3_000,
      what: `${reruns.length} reruns stored`,
    });
    expect(stored.size).toBe(expected.size);
    expect(mismatches(stored).slice(0, 5)).toEqual([]);

    // Every identity lives on exactly one shard: the shards' distinct identities add up.
    const shardPrimaries = cluster.clickhouse.nodes.filter((n, i, all) => all.findIndex((m) => m.shard === n.shard) === i);
    let sum = 0;
    for (const primary of shardPrimaries) {
      const [row] = await rows<{ n: number }>(node(primary.name), `SELECT count() AS n FROM (SELECT DISTINCT run_date, key FROM ${db}.runs_local)`);
      expect(row!.n).toBeGreaterThan(0);
      sum += row!.n;
    }
    expect(sum).toBe(expected.size);
  }, 900_000);

  it('keeps the replica of shard 1 identical to its first server', async () => {
    const replica = cluster.clickhouse.nodes.find((n, i) => i > 0 && n.shard === 1);
    if (!replica) return; // RUNLENS_CLUSTER_REPLICA=0
    await node(replica.name).command({ query: `SYSTEM SYNC REPLICA ${db}.runs_local` });
    const count = async (name: string) => (await rows<{ n: number; v: string }>(node(name), `SELECT count() AS n, toString(sum(cityHash64(key, version))) AS v FROM ${db}.runs_local`))[0];
    expect(await count(replica.name)).toEqual(await count('ch1'));
  }, 300_000);

  it('answers the API through any node exactly as a single-node database with the same rows', async () => {
    // The maintainer (back with sink A) catches up on the notes sink B wrote.
    sinkA = await startSink(configA, { log });
    const byDay = `SELECT toString(toDate(bucket)) AS day, sum(runs) AS runs FROM ${db}.runs_by_day WHERE dimension = 'all' GROUP BY day ORDER BY day`;
    const truth = await rows<{ day: string; runs: number }>(admin, `SELECT toString(toDate(started_at)) AS day, count() AS runs FROM ${db}.runs FINAL GROUP BY day ORDER BY day`);
    await pollUntil(() => rows<{ day: string; runs: number }>(admin, byDay), (found) => JSON.stringify(found) === JSON.stringify(truth), {
      timeoutMs: 600_000,
      intervalMs: 3_000,
      what: 'the rollups to match runs FINAL',
    });

    // The same migrations, single-node, on ch1; every stored row copied over.
    const single = `${db}_single`;
    await migrate(admin, { database: single, kafkaBrokers: cluster.kafka.bootstrap, kafkaTopic: 'unused', kafkaGroup: 'unused' });
    for (const table of ['runs', 'rollup_runs_minute', 'rollup_runs_hour', 'rollup_runs_day', 'rollup_metrics_minute', 'rollup_metrics_hour', 'rollup_metrics_day', 'rollup_state', 'ingest_errors']) {
      await admin.command({ query: `INSERT INTO ${single}.${table} SELECT * FROM ${db}.${table}` });
    }
    const apiFor = (url: string, database: string) => {
      const config = parseApiConfig({ RUNLENS_CLICKHOUSE_URL: url, RUNLENS_CLICKHOUSE_DATABASE: database, RUNLENS_API_AUTH: 'off' });
      const client = createClickHouseClient({ url, ...configA.clickhouse.admin, database });
      const clock = () => Date.now();
      return { api: createApp({ clickhouse: client, config, clock, log: () => {} }), client };
    };
    const onCluster = apiFor(cluster.clickhouse.nodes[1]!.httpUrl, db); // ch2: "any node"
    const onSingle = apiFor(cluster.clickhouse.nodes[0]!.httpUrl, single);
    const someRun = [...expected.keys()][7]!;
    const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const paths = [
      `/api/v1/timeseries?from=${from}&to=${to}&step=3600`,
      `/api/v1/breakdown?from=${from}&to=${to}&by=job&limit=20`,
      `/api/v1/breakdown?from=${from}&to=${to}&by=label:region`,
      `/api/v1/jobs?from=${from}&to=${to}`,
      `/api/v1/runs?from=${from}&to=${to}&limit=50&status=failed`,
      `/api/v1/runs/${someRun}`,
    ];
    try {
      for (const path of paths) {
        const [a, b] = await Promise.all([onCluster.api.app.request(path), onSingle.api.app.request(path)]);
        const [bodyA, bodyB] = [await a.text(), await b.text()];
        expect({ path, status: a.status }).toEqual({ path, status: b.status });
        expect(a.status, `${path}: ${bodyA.slice(0, 300)}`).toBe(200);
        expect(JSON.parse(bodyA), path).toEqual(JSON.parse(bodyB));
      }
    } finally {
      await onCluster.client.close();
      await onSingle.client.close();
    }
  }, 900_000);

  it('lets one rollup maintainer at a time hold the writer lease, whichever node it talks to', async () => {
    const contenders = cluster.clickhouse.nodes.map((n, i) => new WriterLock({ admin: node(n.name), database: db, holder: `contender-${i}`, staleMs: 30_000, heartbeatMs: 1_000 }));
    // The maintainers hand the lease back on stop (and hourly, so a contender may win
    // while they run: no assertion there). Then exactly one contender wins, on any node.
    await sinkA?.stop();
    await sinkB?.stop();
    sinkA = null;
    sinkB = null;
    const won = await pollUntil(
      async () => (await Promise.all(contenders.map((c) => c.acquire({ yieldOnRequest: true })))).filter((r) => r === 'held').length,
      (n) => n > 0,
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'a contender taking the released lease' },
    );
    expect(won).toBe(1);
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(contenders.map((c) => c.acquire({ yieldOnRequest: true })));
      expect(results.filter((r) => r === 'held')).toHaveLength(1);
    }
    for (const c of contenders) await c.release();
  }, 300_000);

  it('drops old months on every shard (retention reaches the local tables)', async () => {
    const oldMonth = '2023-01-15';
    await admin.command({ query: `INSERT INTO ${db}.runs (run_date, key, job, started_at) SELECT toDate('${oldMonth}') + (number % 3), concat('old-', toString(number)), 'old', toDateTime('${oldMonth} 10:00:00') FROM system.numbers LIMIT 500` });
    await admin.command({ query: `INSERT INTO ${db}.rollup_runs_minute (run_date, bucket, dimension, value) SELECT toDate('${oldMonth}'), toDateTime('${oldMonth} 10:00:00') + number * 3600, 'all', '' FROM system.numbers LIMIT 48` });
    const shardPrimaries = cluster.clickhouse.nodes.filter((n, i, all) => all.findIndex((m) => m.shard === n.shard) === i);
    const oldParts = async (table: string) => {
      let count = 0;
      for (const n of cluster.clickhouse.nodes) {
        const [row] = await rows<{ n: number }>(node(n.name), `SELECT count() AS n FROM system.parts WHERE database = '${db}' AND table = '${table}' AND active AND partition = '202301'`);
        count += row!.n;
      }
      return count;
    };
    for (const n of shardPrimaries) {
      const [row] = await rows<{ n: number }>(node(n.name), `SELECT count() AS n FROM ${db}.runs_local WHERE toYYYYMM(run_date) = 202301`);
      expect(row!.n, `old rows on ${n.name}`).toBeGreaterThan(0);
    }
    const dropped = await applyRetention(admin, db, { runs: 400, minute: 35, hour: 0, day: 0 }, Date.now());
    expect(dropped).toEqual(expect.arrayContaining([expect.objectContaining({ table: 'runs', partition: 202301 }), expect.objectContaining({ table: 'rollup_runs_minute', partition: 202301 })]));
    // ON CLUSTER returns once every server ran it; the replica applies the replicated drop.
    await pollUntil(async () => (await oldParts('runs_local')) + (await oldParts('rollup_runs_minute_local')), (n) => n === 0, { timeoutMs: 60_000, intervalMs: 500, what: 'no 202301 parts left on any server' });
    expect(await countFinal()).toBe(expected.size);
  }, 300_000);
});
