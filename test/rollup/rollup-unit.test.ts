import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../ingest/event/wire.ts';
import type { TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { compareAllTiers, completeUntil, serverNow } from './rollup-truth.ts';
import { runEvent, utcMs, type RunVersion } from './run-events.ts';
import { plainProducer, type PlainProducer } from '../support/plain-producer.ts';
import { createRollupTestPipeline, rollupLabelKeys } from './rollup-pipeline.ts';

let pipeline: TestPipeline;
let producer: PlainProducer;
let db: string;
const labelKeys = rollupLabelKeys;

beforeAll(async () => {
  pipeline = await createRollupTestPipeline('rollup_unit');
  db = pipeline.config.clickhouse.database;
  // Every version stays a separate row: FINAL (not a merge) must do the deduplication.
  await pipeline.admin.command({ query: `SYSTEM STOP MERGES ${db}.runs` });
  producer = await plainProducer(pipeline.config.kafka.brokers, 'rollup-test');
  await pipeline.startSink();
});

afterAll(async () => {
  await producer?.disconnect();
  await pipeline?.close();
});

const base: RunVersion = {
  runDate: '2026-11-10', key: 'k', job: 'etl', host: 'h1', attempt: 1, status: 'running',
  startedAtMs: utcMs('2026-11-10 10:05:30'), durationMs: null, writtenAtMs: 1_000, labels: { region: 'eu' }, metrics: [],
};

async function send(...versions: RunVersion[]) {
  await producer.send({ topic: pipeline.config.kafka.topic, acks: -1, messages: versions.map((version) => encodeEvent(runEvent(version))) });
}

/** Waits until runs FINAL holds `status` for the identity, then until the rollups are complete past that moment. */
async function settled(key: string, status: string, runDate = base.runDate) {
  await pollUntil(
    () => pipeline.query<{ status: string }>(`SELECT status FROM ${db}.runs FINAL WHERE run_date = '${runDate}' AND key = '${key}'`),
    (rows) => rows[0]?.status === status,
    { what: `${key} stored as ${status}` },
  );
  const stored = await serverNow(pipeline);
  await pollUntil(() => completeUntil(pipeline), (until) => until >= stored + 2, { what: 'the rollup watermark' });
}

async function hourCount(hour: string, status: string): Promise<number> {
  const rows = await pipeline.query<{ runs: number }>(
    `SELECT sum(runs) AS runs FROM ${db}.rollup_runs_hour FINAL WHERE dimension = 'all' AND bucket = toDateTime('${hour}') AND status = '${status}'`,
  );
  return Number(rows[0]?.runs ?? 0);
}

describe('rollups', () => {
  it('count a running run, then only its final status once it finishes', async () => {
    await send({ ...base, key: 'transition' });
    await settled('transition', 'running');
    expect(await hourCount('2026-11-10 10:00:00', 'running')).toBe(1);
    await send({ ...base, key: 'transition', status: 'succeeded', durationMs: 4_000, writtenAtMs: 2_000 });
    await settled('transition', 'succeeded');
    expect(await hourCount('2026-11-10 10:00:00', 'running')).toBe(0);
    expect(await hourCount('2026-11-10 10:00:00', 'succeeded')).toBe(1);
    expect(await compareAllTiers(pipeline, labelKeys)).toEqual([]);
  });

  it('forget an older version in a unit once a rerun moved the run to another day', async () => {
    await send({ ...base, key: 'moved', status: 'failed', durationMs: 1_000 });
    await settled('moved', 'failed');
    expect(await hourCount('2026-11-10 10:00:00', 'failed')).toBe(1);
    // The rerun starts two days later; the old version is still a row in runs (merges stopped).
    await send({ ...base, key: 'moved', attempt: 2, status: 'succeeded', startedAtMs: utcMs('2026-11-12 08:00:00'), durationMs: 2_000, writtenAtMs: 5_000 });
    await settled('moved', 'succeeded');
    const [{ physical }] = await pipeline.query<{ physical: number }>(`SELECT count() AS physical FROM ${db}.runs WHERE key = 'moved'`) as [{ physical: number }];
    expect(physical).toBe(2);
    expect(await hourCount('2026-11-10 10:00:00', 'failed')).toBe(0);
    expect(await hourCount('2026-11-12 08:00:00', 'succeeded')).toBe(1);
    const days = await pipeline.query<{ bucket: string; runs: number }>(
      `SELECT toString(bucket) AS bucket, runs FROM ${db}.runs_by_day WHERE dimension = 'job' AND value = 'etl' AND status IN ('failed', 'succeeded') ORDER BY bucket`,
    );
    expect(days).toEqual([{ bucket: '2026-11-10 00:00:00', runs: 1 }, { bucket: '2026-11-12 00:00:00', runs: 1 }]);
    expect(await compareAllTiers(pipeline, labelKeys)).toEqual([]);
  });

  it('ignore a late older version and a duplicate delivery', async () => {
    const newest: RunVersion = { ...base, key: 'late', attempt: 2, status: 'timeout', durationMs: 9_000, writtenAtMs: 9_000, metrics: [{ path: 'rows', value: 7 }] };
    await send(newest, newest);
    await settled('late', 'timeout');
    await send({ ...base, key: 'late', attempt: 1, status: 'failed', startedAtMs: utcMs('2026-11-10 03:00:00'), durationMs: 100, writtenAtMs: 1_000 });
    await pollUntil(() => pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${db}.runs WHERE key = 'late'`), (rows) => rows[0]?.n === 3, { what: 'the late version stored' });
    const stored = await serverNow(pipeline);
    await pollUntil(() => completeUntil(pipeline), (until) => until >= stored + 2, { what: 'the rollup watermark' });
    expect(await hourCount('2026-11-10 03:00:00', 'failed')).toBe(0);
    const metrics = await pipeline.query<{ samples: number; value_sum: number }>(`SELECT samples, value_sum FROM ${db}.metrics_by_hour WHERE job = 'etl' AND path = 'rows'`);
    expect(metrics).toEqual([{ samples: 1, value_sum: 7 }]);
    expect(await compareAllTiers(pipeline, labelKeys)).toEqual([]);
  });

  it('report a watermark that keeps moving while the sink runs', async () => {
    const first = await completeUntil(pipeline);
    await pollUntil(() => completeUntil(pipeline), (until) => until > first, { what: 'the watermark to move' });
  });
});
