// Ingest figures: end-to-end events/s (publish → Kafka → `runlens sink` → `runs`) against
// inserting the same rows straight into `runs` in 100k-row batches; backfill runs/s of `watch
// --once` against `find` + `cat` of the same tree; freshness (ingest/bench/pipeline-bench.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunEvent } from '../../ingest/event/run-event.ts';
import { encodeEvent } from '../../ingest/event/wire.ts';
import { freshnessRun } from '../../ingest/bench/pipeline-bench.ts';
import { buildPublishedEvent } from '../../ingest/publish/publish-run-directory.ts';
import { createPublisher } from '../../ingest/publish/publisher.ts';
import { routeMessage, RUN_COLUMNS } from '../../ingest/sink/rows.ts';
import { openCheckpointStore } from '../../ingest/watch/checkpoint-store.ts';
import { runWatch } from '../../ingest/watch/watch-loop.ts';
import { createTestPipeline } from '../../test/support/pipeline.ts';
import { repeat, stat, type Stat } from '../stats.ts';
import { startRunlens, stopRunlens, waitForOutput } from './runlens-process.ts';

/** Events like a real run directory: run.json and a ~1 KB result.json with leaves. */
function events(count: number, runDate: string, tag: string): RunEvent[] {
  const result = JSON.stringify({ records_in: 1234, records_out: 1200, timings_ms: { fetch: 812.4, write: 90.1 }, note: 'x'.repeat(900) });
  return Array.from({ length: count }, (_, i) => buildPublishedEvent({
    runDate,
    key: `acct-${String(i).padStart(7, '0')}.${tag}`,
    files: {
      'run.json': JSON.stringify({ key: `acct-${String(i).padStart(7, '0')}.${tag}`, job: `job-${i % 200}`, host: `host-${i % 50}`, attempt: 1, status: i % 10 === 0 ? 'failed' : 'succeeded', started_at: `${runDate}T09:00:00Z`, finished_at: `${runDate}T09:00:01Z`, exit_code: 0, labels: { region: 'eu', tier: 'gold' } }),
      'result.json': result,
    },
  }, Date.now()));
}

export interface IngestFigure { e2e: Stat; direct: Stat; ratio: Stat; events: number; eventBytes: number }

/**
 * Per repetition, one e2e run and then one direct insert, so each ratio compares runs made
 * moments apart on this shared box. The sink is `runlens sink` in its own process with its
 * production defaults, as deployed: the publisher (this process, as a script or the watcher
 * would publish) and the sink do not share a Node thread.
 */
export async function endToEndIngest(count: number, repetitions: number, log: (line: string) => void): Promise<IngestFigure> {
  const runDate = new Date().toISOString().slice(0, 10);
  const sample = events(1, runDate, 'x')[0]!;
  const pairs = await repeat(repetitions, async (run) => {
    const e2e = await endToEndRun(count, runDate, run);
    const direct = await directInsertRun(count, runDate, run);
    log(`ingest ${run + 1}/${repetitions}: e2e ${Math.round(e2e)} events/s, direct insert ${Math.round(direct)} rows/s (ratio ${(e2e / direct).toFixed(2)})`);
    return { e2e, direct };
  });
  return {
    e2e: stat(pairs.map((pair) => pair.e2e)),
    direct: stat(pairs.map((pair) => pair.direct)),
    ratio: stat(pairs.map((pair) => pair.e2e / pair.direct)),
    events: count,
    eventBytes: encodeEvent(sample).value.length,
  };
}

/** Publish → Kafka → `runlens sink` → `runs`: from the first publish until every row is visible. */
async function endToEndRun(count: number, runDate: string, run: number): Promise<number> {
  const pipeline = await createTestPipeline(`bench_e2e${run}`);
  const spool = mkdtempSync(join(tmpdir(), 'bench-spool-'));
  const { kafka, clickhouse } = pipeline.config;
  const sink = startRunlens(['sink'], {
    RUNLENS_CLICKHOUSE_DATABASE: clickhouse.database, RUNLENS_KAFKA_TOPIC: kafka.topic, RUNLENS_KAFKA_SINK_GROUP: kafka.sinkGroup, RUNLENS_ROLLUP_MAINTAIN: '1',
  });
  try {
    await waitForOutput(sink, /sink: joined group/, 60_000);
    const batch = events(count, runDate, `e${run}`);
    const publisher = await createPublisher(pipeline.config, { spoolDir: spool, log: () => {} });
    const started = performance.now();
    for (let i = 0; i < batch.length; i += 2000) await publisher.publish(batch.slice(i, i + 2000));
    for (;;) {
      const [row] = await pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${clickhouse.database}.runs`);
      if ((row?.n ?? 0) >= count) break;
      if (sink.child.exitCode !== null) throw new Error(`runlens sink exited: ${sink.output().slice(-500)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const rate = count / ((performance.now() - started) / 1000);
    await publisher.close();
    return rate;
  } finally {
    await stopRunlens(sink.child);
    await pipeline.close();
    rmSync(spool, { recursive: true, force: true });
  }
}

/** The baseline: the same rows inserted straight into `runs` with @clickhouse/client in 100k-row batches. */
async function directInsertRun(count: number, runDate: string, run: number): Promise<number> {
  const pipeline = await createTestPipeline(`bench_direct${run}`);
  try {
    const rows = events(count, runDate, `d${run}`).map((event, offset) => {
      const routed = routeMessage(Buffer.from(encodeEvent(event).value), { topic: 'bench', partition: 0, offset: String(offset), timestampMs: Date.now() }, Date.now());
      if (routed.table !== 'runs') throw new Error('bench event did not route to runs');
      return routed.row;
    });
    const started = performance.now();
    for (let i = 0; i < rows.length; i += 100_000) {
      await pipeline.admin.insert({ table: `${pipeline.config.clickhouse.database}.runs`, values: rows.slice(i, i + 100_000), format: 'JSONEachRow', columns: [...RUN_COLUMNS] });
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    await pipeline.close();
  }
}

export interface BackfillFigure { watch: Stat; findCat: Stat; runs: number }

/** `watch --once` over the tree (fresh checkpoint each time, publishing to its own topic) vs find + cat. */
export async function backfill(root: string, runs: number, repetitions: number, log: (line: string) => void): Promise<BackfillFigure> {
  const watch = await repeat(repetitions, async (run) => {
    const pipeline = await createTestPipeline(`bench_backfill${run}`);
    const work = mkdtempSync(join(tmpdir(), 'bench-backfill-'));
    try {
      const publisher = await createPublisher(pipeline.config, { spoolDir: join(work, 'spool'), log: () => {} });
      const checkpoint = openCheckpointStore({ checkpointDir: join(work, 'checkpoints'), root, log: () => {} });
      const started = performance.now();
      const summary = await runWatch({ options: { root, once: true }, publisher, checkpoint, log: () => {} });
      const rate = runs / ((performance.now() - started) / 1000);
      await publisher.close();
      log(`backfill ${run + 1}/${repetitions}: ${Math.round(rate)} runs/s (watch says ${Math.round(summary.runsPerSecond)})`);
      return rate;
    } finally {
      await pipeline.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
  const findCat = await repeat(repetitions, async () => {
    const started = performance.now();
    execFileSync('bash', ['-c', `find "${root}" -type f -print0 | xargs -0 cat > /dev/null`]);
    return runs / ((performance.now() - started) / 1000);
  });
  return { watch: stat(watch), findCat: stat(findCat), runs };
}

export interface FreshnessFigure { sql: { p50: Stat; p99: Stat }; sse: { p50: Stat; p99: Stat }; rate: number; seconds: number; runs: number }

export async function freshness(rate: number, seconds: number, repetitions: number, log: (line: string) => void): Promise<FreshnessFigure> {
  const runs = await repeat(repetitions, async (run) => {
    const result = await freshnessRun(run, { rate, seconds, sse: true });
    log(`freshness ${run + 1}/${repetitions}: SQL p50 ${result.p50} p99 ${result.p99} ms (${result.n}); SSE p50 ${result.sse?.p50} p99 ${result.sse?.p99} ms (${result.sse?.n})`);
    return result;
  });
  return {
    sql: { p50: stat(runs.map((r) => r.p50)), p99: stat(runs.map((r) => r.p99)) },
    sse: { p50: stat(runs.map((r) => r.sse!.p50)), p99: stat(runs.map((r) => r.sse!.p99)) },
    rate,
    seconds,
    runs: Math.min(...runs.map((r) => Math.min(r.n, r.sse!.n))),
  };
}
