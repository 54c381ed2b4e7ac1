// The whole data path with real components: a run tree → runlens watch → Kafka →
// runlens sink → ClickHouse `runs`, compared with the tree itself.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher } from '../../ingest/publish/publisher.ts';
import type { RunEventPublisher } from '../../ingest/publish/run-event-publisher.ts';
import { generateTree, type ExpectedTree } from '../../ingest/simulate/generate-tree.ts';
import { openCheckpointStore } from '../../ingest/watch/checkpoint-store.ts';
import { runWatch } from '../../ingest/watch/watch-loop.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { samplesRoot } from '../support/sample-events.ts';

let pipeline: TestPipeline;
let publisher: RunEventPublisher;
let root: string;
let expected: ExpectedTree;
const stopWatching = new AbortController();
let watching: Promise<unknown>;

interface StoredRun { id: string; status: string; attempt: number }

async function storedRuns(): Promise<Map<string, StoredRun>> {
  const rows = await pipeline.query<StoredRun>(
    `SELECT concat(toString(run_date), '/', key) AS id, status, attempt FROM ${pipeline.config.clickhouse.database}.runs FINAL`,
  );
  return new Map(rows.map((row) => [row.id, row]));
}

beforeAll(async () => {
  pipeline = await createTestPipeline('e2e');
  await pipeline.startSink();
  const work = mkdtempSync(join(tmpdir(), 'runlens-e2e-'));
  root = join(work, 'runs');
  cpSync(samplesRoot, root, { recursive: true });
  // A generated tree beside the samples: other dates, reruns, running and final runs.
  expected = generateTree({ root, runs: 3000, days: 4, seed: 42, endDate: '2026-11-19' });
  publisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(work, 'spool') });
  const checkpoint = openCheckpointStore({ checkpointDir: join(work, 'checkpoints'), root, log: () => {} });
  watching = runWatch({
    options: { root, scanIntervalMs: 2_000 },
    publisher,
    checkpoint,
    log: () => {},
    signal: stopWatching.signal,
  });
}, 120_000);

afterAll(async () => {
  stopWatching.abort();
  await watching?.catch(() => {});
  await publisher?.close();
  await pipeline?.close();
});

describe('a run tree flows through watch, Kafka and the sink into ClickHouse', () => {
  it('stores exactly one row per (date, key) of the tree, with its final status and newest attempt', async () => {
    const sampleRuns = [
      ['2026-11-20/acct-000117.invoice-sync', 'succeeded', 1],
      ['2026-11-20/acct-000118.invoice-sync', 'succeeded', 2],
      ['2026-11-21/acct-000117.invoice-sync', 'failed', 1],
      ['2026-11-21/feed-eu-0042', 'running', 1],
      ['2026-11-21/feed-eu-0043', 'timeout', 1],
      ['2026-11-21/report.daily.2026-11-21', 'succeeded', 1],
    ] as const;
    const want = new Map<string, { status: string; attempt: number }>(expected);
    for (const [id, status, attempt] of sampleRuns) want.set(id, { status, attempt });

    const stored = await pollUntil(storedRuns, (runs) => runs.size >= want.size, { timeoutMs: 90_000, what: `${want.size} runs in ClickHouse` });
    expect(stored.size).toBe(want.size);
    const mismatches = [...want].filter(([id, run]) => stored.get(id)?.status !== run.status || stored.get(id)?.attempt !== run.attempt);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('reports the half-written sample in ingest_errors, and stores the run once the file is complete', async () => {
    const errors = await pollUntil(
      () => pipeline.query<{ key: string; file: string; reason: string }>(
        `SELECT key, file, reason FROM ${pipeline.config.clickhouse.database}.ingest_errors WHERE key = 'broken-0001'`,
      ),
      (rows) => rows.length > 0,
      { timeoutMs: 30_000, what: 'an ingest error for broken-0001' },
    );
    expect(errors[0]).toMatchObject({ key: 'broken-0001', file: 'run.json' });
    expect(errors[0]!.reason).toMatch(/JSON/);

    writeFileSync(join(root, '2026-11-21', 'broken-0001', 'run.json'), JSON.stringify({
      key: 'broken-0001', job: 'feed-import', host: 'worker-09', attempt: 1, status: 'succeeded',
      started_at: '2026-11-21T11:00:00.000Z', finished_at: '2026-11-21T11:00:09.500Z', exit_code: 0,
    }));
    const completed = await pollUntil(storedRuns, (runs) => runs.has('2026-11-21/broken-0001'), { timeoutMs: 10_000, what: 'broken-0001 stored' });
    expect(completed.get('2026-11-21/broken-0001')).toMatchObject({ status: 'succeeded', attempt: 1 });
  });

  // 2026-11-20 is not an active day: the rewrite is found by the reconciliation scan, which
  // re-checks the inactive days in rotation (here: every 2 s, one day per scan).
  it('replaces a run when it is rerun in place in an old day folder, and keeps the same key under another date apart', async () => {
    const dir = join(root, '2026-11-20', 'acct-000117.invoice-sync');
    writeFileSync(join(dir, 'run.json'), JSON.stringify({
      key: 'acct-000117.invoice-sync', job: 'invoice-sync', host: 'worker-01', attempt: 2, status: 'failed',
      started_at: '2026-11-22T08:00:00.000+01:00', finished_at: '2026-11-22T08:00:04.000+01:00', exit_code: 1,
      labels: { region: 'eu-west', tier: 'gold' },
    }));
    const runs = await pollUntil(storedRuns, (all) => all.get('2026-11-20/acct-000117.invoice-sync')?.attempt === 2, {
      timeoutMs: 45_000,
      what: 'the rerun stored',
    });
    expect(runs.get('2026-11-20/acct-000117.invoice-sync')).toMatchObject({ status: 'failed', attempt: 2 });
    expect(runs.get('2026-11-21/acct-000117.invoice-sync')).toMatchObject({ status: 'failed', attempt: 1 });
  });
});
