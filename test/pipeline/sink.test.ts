import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../ingest/event/run-event.ts';
import { encodeEvent, type TopicEvent } from '../../ingest/event/wire.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { buildTreeEvents, samplesRoot } from '../support/sample-events.ts';
import { plainProducer, type PlainProducer } from '../support/plain-producer.ts';

let pipeline: TestPipeline;
let producer: PlainProducer;

beforeAll(async () => {
  pipeline = await createTestPipeline('sink');
  // A plain producer: the test must be able to send what our publisher never would.
  producer = await plainProducer(pipeline.config.kafka.brokers, 'sink-test');
  await pipeline.startSink();
});

afterAll(async () => {
  await producer?.disconnect();
  await pipeline?.close();
});

async function send(events: TopicEvent[]) {
  await producer.send({ topic: pipeline.config.kafka.topic, acks: -1, messages: events.map(encodeEvent) });
}

function sampleEvents(): RunEvent[] {
  return buildTreeEvents(samplesRoot).flatMap(({ outcome }) => (outcome.ok ? [outcome.event] : []));
}

interface RunRow { run_date: string; key: string; attempt: number; status: string; job: string }

async function finalRuns(where = '1'): Promise<RunRow[]> {
  return pipeline.query<RunRow>(`SELECT run_date, key, attempt, status, job FROM ${pipeline.config.clickhouse.database}.runs FINAL WHERE ${where} ORDER BY run_date, key`);
}

describe('the sink', () => {
  it('stores every valid sample run once, the same key on two dates as two runs', async () => {
    const events = sampleEvents();
    expect(events.length).toBe(6);
    await send(events);
    await send(events); // at-least-once delivery: the same events twice fold into one row each
    const rows = await pollUntil(() => finalRuns(), (rows) => rows.length === 6, { what: 'six sample runs' });
    expect(rows.map((row) => `${row.run_date}/${row.key}`)).toEqual([
      '2026-11-20/acct-000117.invoice-sync',
      '2026-11-20/acct-000118.invoice-sync',
      '2026-11-21/acct-000117.invoice-sync',
      '2026-11-21/feed-eu-0042',
      '2026-11-21/feed-eu-0043',
      '2026-11-21/report.daily.2026-11-21',
    ]);
    const [{ physical }] = await pipeline.query<{ physical: number }>(
      `SELECT count() AS physical FROM ${pipeline.config.clickhouse.database}.runs FINAL`,
    ) as [{ physical: number }];
    expect(physical).toBe(6);
  });

  it('keeps the newest attempt even when it arrives before the older one', async () => {
    const [base] = sampleEvents();
    const key = 'order-test.rerun';
    const attempt2: RunEvent = { ...base!, key, attempt: 2, status: 'succeeded', written_at_ms: 2_000 };
    const attempt1Later: RunEvent = { ...base!, key, attempt: 1, status: 'failed', written_at_ms: 9_000 };
    await send([attempt2]);
    await send([attempt1Later]);
    await pollUntil(
      () => pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${pipeline.config.clickhouse.database}.runs WHERE key = '${key}'`),
      (rows) => rows[0]?.n === 2,
      { what: 'both versions stored' },
    );
    const rows = await finalRuns(`key = '${key}'`);
    expect(rows).toEqual([expect.objectContaining({ attempt: 2, status: 'succeeded' })]);
  });

  it('replaces a running version with the final one of the same attempt', async () => {
    const [base] = sampleEvents();
    const key = 'transition-test';
    await send([{ ...base!, key, status: 'running', finished_at_ms: null, exit_code: null, written_at_ms: 1_000 }]);
    await pollUntil(() => finalRuns(`key = '${key}'`), (rows) => rows[0]?.status === 'running', { what: 'the running version' });
    await send([{ ...base!, key, status: 'succeeded', written_at_ms: 5_000 }]);
    await pollUntil(() => finalRuns(`key = '${key}'`), (rows) => rows.length === 1 && rows[0]?.status === 'succeeded', { what: 'the final version' });
  });

  it('records foreign and corrupt messages in ingest_errors and keeps consuming after them', async () => {
    const [base] = sampleEvents();
    const topic = pipeline.config.kafka.topic;
    // All on one partition, so the valid message really comes after the poison.
    await producer.send({
      topic,
      messages: [
        { partition: 0, value: 'not json at all\twith a tab\\' },
        { partition: 0, value: '{"schema":"runlens.run/1","key":"half' },
        { partition: 0, value: JSON.stringify({ hello: 'world' }) },
        { partition: 0, value: JSON.stringify({ ...base!, attempt: -1 }) },
        { partition: 0, value: null },
        { partition: 0, ...encodeEvent({ ...base!, key: 'after-poison' }) },
      ],
    });
    await pollUntil(() => finalRuns(`key = 'after-poison'`), (rows) => rows.length === 1, { what: 'the message after the poison' });
    const errors = await pollUntil(
      () => pipeline.query<{ kind: string; reason: string; origin: string }>(
        `SELECT kind, reason, origin FROM ${pipeline.config.clickhouse.database}.ingest_errors FINAL WHERE source = 'sink' ORDER BY kafka_offset`,
      ),
      (rows) => rows.length === 5,
      { what: 'five ingest errors' },
    );
    expect(errors.map((error) => error.kind)).toEqual(['foreign', 'foreign', 'foreign', 'foreign', 'foreign']);
    expect(errors[0]!.reason).toMatch(/^not JSON/);
    expect(errors[2]!.reason).toMatch(/unknown schema/);
    expect(errors[3]!.reason).toMatch(/attempt/);
    expect(errors[4]!.reason).toMatch(/empty message/);
    expect(errors[0]!.origin).toMatch(new RegExp(`^${topic.replace(/\./g, '\\.')}/0/\\d+$`));
  });

  it('files ingest-error events reported by the watcher with their path and reason', async () => {
    await send([{
      schema: 'runlens.ingest-error/1',
      occurred_at_ms: Date.now(),
      source: 'watch',
      origin: '/runs/2026-11-21/broken-0001/run.json',
      run_date: '2026-11-21',
      key: 'broken-0001',
      file: 'run.json',
      kind: 'incomplete',
      reason: 'not valid JSON (yet): Unterminated string',
    }]);
    const rows = await pollUntil(
      () => pipeline.query<{ key: string; reason: string }>(
        `SELECT key, reason FROM ${pipeline.config.clickhouse.database}.ingest_errors WHERE source = 'watch'`,
      ),
      (rows) => rows.length === 1,
      { what: 'the watcher-reported error' },
    );
    expect(rows[0]).toEqual({ key: 'broken-0001', reason: 'not valid JSON (yet): Unterminated string' });
  });
});
