// Bad input: property tests of the run-file parser and the event schema, then a run tree
// full of hostile files watched by the real watcher into the real pipeline. Every file is
// either ingested or reported in `ingest_errors` with a reason; none crashes or blocks the
// watcher, and a valid run written after them still arrives.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRunEvent, defaultEventLimits } from '../../ingest/event/build-run-event.ts';
import { runEventSchema } from '../../ingest/event/run-event.ts';
import { decodeEvent, encodeEvent } from '../../ingest/event/wire.ts';
import { createPublisher } from '../../ingest/publish/publisher.ts';
import type { RunEventPublisher } from '../../ingest/publish/run-event-publisher.ts';
import { openCheckpointStore } from '../../ingest/watch/checkpoint-store.ts';
import { runWatch } from '../../ingest/watch/watch-loop.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { faultStackEnv } from './private-stack.ts';
import { recordOutcome } from './report.ts';

const header = (key: string, extra: Record<string, unknown> = {}) => ({
  key, job: 'fuzz', host: 'h1', attempt: 1, status: 'succeeded',
  started_at: '2026-11-21T10:00:00.000Z', finished_at: '2026-11-21T10:00:01.000Z', exit_code: 0, ...extra,
});
const bytes = (text: string) => Buffer.from(text, 'utf8');

function build(key: string, files: Array<{ name: string; bytes: Uint8Array }>) {
  return buildRunEvent({ runDate: '2026-11-21', key, files, writtenAtMs: 1, publishedAtMs: 2, source: 'watch', origin: 'fuzz' });
}

describe('the run-file parser and the event schema, under arbitrary input', () => {
  it('never throws on arbitrary bytes, and says which file and why when it refuses', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (run, result) => {
      const outcome = build('k', [{ name: 'run.json', bytes: run }, { name: 'result.json', bytes: result }]);
      if (!outcome.ok) {
        expect(['incomplete', 'invalid']).toContain(outcome.kind);
        expect(outcome.reason.length).toBeGreaterThan(0);
      }
    }), { numRuns: 500 });
  });

  it('accepts only headers the schema accepts, and every accepted event survives the wire', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean());
    fc.assert(fc.property(
      fc.record({ attempt: value, status: fc.oneof(value, fc.constantFrom('running', 'failed')), started_at: fc.oneof(value, fc.constant('2026-11-21T10:00:00+01:00')), exit_code: value }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 6 }),
      (overrides, result) => {
        const outcome = build('k', [
          { name: 'run.json', bytes: bytes(JSON.stringify(header('k', overrides))) },
          { name: 'result.json', bytes: bytes(JSON.stringify(result)) },
        ]);
        if (!outcome.ok) return;
        expect(runEventSchema.safeParse(outcome.event).success).toBe(true);
        const wire = encodeEvent(outcome.event);
        expect(Buffer.byteLength(wire.value)).toBeLessThan(1_000_000);
        expect(decodeEvent(wire.value)).toEqual({ ok: true, event: outcome.event });
      },
    ), { numRuns: 500 });
  });

  it('decodes any message without throwing: foreign bytes are an outcome, not an exception', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (message) => {
      const outcome = decodeEvent(Buffer.from(message));
      expect(typeof outcome.ok).toBe('boolean');
    }), { numRuns: 1000 });
  });

  it('caps 10,000 numeric leaves and 100-level nesting instead of choking on them', () => {
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`m${i}`, i]));
    let deep: unknown = { leaf: 1 };
    for (let i = 0; i < 100; i++) deep = { nested: deep };
    const outcome = build('k', [
      { name: 'run.json', bytes: bytes(JSON.stringify(header('k'))) },
      { name: 'result.json', bytes: bytes(JSON.stringify({ wide, deep })) },
    ]);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.event.metrics).toHaveLength(defaultEventLimits.maxMetrics);
    expect(outcome.event.metrics_truncated).toBe(true);
  });
});

describe('a run tree of hostile files, watched into the real pipeline', () => {
  let pipeline: TestPipeline;
  let publisher: RunEventPublisher;
  let root: string;
  const stop = new AbortController();
  let watching: Promise<unknown>;
  const day = '2026-11-21';

  // name → [files, what should happen]
  const cases: Record<string, { files: Record<string, Buffer>; expect: 'ingested' | 'reported' }> = {
    'truncated-json': { files: { 'run.json': bytes(JSON.stringify(header('truncated-json')).slice(0, 50)) }, expect: 'reported' },
    'with-bom': { files: { 'run.json': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes(JSON.stringify(header('with-bom')))]) }, expect: 'ingested' },
    'invalid-utf8': { files: { 'run.json': Buffer.concat([bytes('{"key":"invalid-utf8","job":"'), Buffer.from([0xc3, 0x28, 0xff]), bytes('"}')]) }, expect: 'reported' },
    'deep-nesting': { files: { 'run.json': bytes(JSON.stringify(header('deep-nesting'))), 'result.json': bytes(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`) }, expect: 'ingested' },
    'many-leaves': { files: { 'run.json': bytes(JSON.stringify(header('many-leaves'))), 'result.json': bytes(JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`m${i}`, i])))) }, expect: 'ingested' },
    'fifty-mb': { files: { 'run.json': bytes(JSON.stringify(header('fifty-mb'))), 'result.json': bytes(`{"blob":"${'x'.repeat(50 * 1024 * 1024)}"}`) }, expect: 'reported' },
    'nan-infinity': { files: { 'run.json': bytes(JSON.stringify(header('nan-infinity'))), 'result.json': bytes('{"a": NaN, "b": Infinity}') }, expect: 'reported' },
    'odd-timestamps': { files: { 'run.json': bytes(JSON.stringify(header('odd-timestamps', { started_at: '2026-11-21T10:00:00.123456789+0130', finished_at: '2026-11-21T09:00:00-00:00' }))) }, expect: 'ingested' },
    'bad-month': { files: { 'run.json': bytes(JSON.stringify(header('bad-month', { started_at: '2026-13-01T00:00:00Z' }))) }, expect: 'reported' },
    'words-for-time': { files: { 'run.json': bytes(JSON.stringify(header('words-for-time', { started_at: 'yesterday' }))) }, expect: 'reported' },
    'key mismatch': { files: { 'run.json': bytes(JSON.stringify(header('key mismatch'))) }, expect: 'reported' },
    'other-key': { files: { 'run.json': bytes(JSON.stringify(header('not-the-directory'))) }, expect: 'reported' },
    [`long-${'k'.repeat(200)}`]: { files: { 'run.json': bytes('{}') }, expect: 'reported' },
  };

  beforeAll(async () => {
    pipeline = await createTestPipeline('bad_input', { ...faultStackEnv });
    await pipeline.startSink();
    const work = mkdtempSync(join(tmpdir(), 'runlens-bad-input-'));
    root = join(work, 'runs');
    for (const [key, { files }] of Object.entries(cases)) {
      mkdirSync(join(root, day, key), { recursive: true });
      for (const [name, content] of Object.entries(files)) writeFileSync(join(root, day, key, name), content);
    }
    publisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(work, 'spool') });
    watching = runWatch({
      options: { root, scanIntervalMs: 1_000 },
      publisher,
      checkpoint: openCheckpointStore({ checkpointDir: join(work, 'checkpoints'), root, log: () => {} }),
      log: () => {},
      signal: stop.signal,
    });
  }, 120_000);

  afterAll(async () => {
    stop.abort();
    await watching?.catch(() => {});
    await publisher?.close();
    await pipeline?.close();
  });

  it('ingests or reports every hostile run directory, and a valid run written after them still arrives', async () => {
    const db = pipeline.config.clickhouse.database;
    mkdirSync(join(root, day, 'valid-after'), { recursive: true });
    writeFileSync(join(root, day, 'valid-after', 'run.json'), JSON.stringify(header('valid-after')));

    const wantIngested = Object.entries(cases).filter(([, c]) => c.expect === 'ingested').map(([key]) => key).concat('valid-after').sort();
    const wantReported = Object.entries(cases).filter(([, c]) => c.expect === 'reported').map(([key]) => key).sort();
    const state = await pollUntil(async () => {
      const runs = (await pipeline.query<{ key: string }>(`SELECT DISTINCT key FROM ${db}.runs`)).map((row) => row.key).sort();
      const errors = await pipeline.query<{ key: string; reason: string }>(`SELECT key, any(reason) AS reason FROM ${db}.ingest_errors GROUP BY key`);
      return { runs, errors };
    }, (s) => s.runs.length >= wantIngested.length && wantReported.every((key) => s.errors.some((error) => error.key === key)), {
      timeoutMs: 90_000,
      what: 'every hostile run ingested or reported',
    });
    recordOutcome({
      family: 'bad input',
      what: 'truncated JSON, BOM, invalid UTF-8, 100-level nesting, 10,000 leaves, a 50 MB file, NaN/Infinity, odd and invalid timestamps, keys with spaces / mismatched / 204 chars',
      load: `${Object.keys(cases).length} hostile run directories + 1 valid`,
      expected: wantIngested.length,
      found: state.runs.filter((key) => wantIngested.includes(key)).length,
      lost: wantIngested.filter((key) => !state.runs.includes(key)).length,
      duplicated: 0,
      outcome: `${wantReported.length} reported in ingest_errors with a reason; watcher kept running`,
    });
    expect(state.runs).toEqual(wantIngested);
    for (const key of wantReported) {
      const error = state.errors.find((row) => row.key === key);
      expect(error?.reason, key).toBeTruthy();
    }
  });
});
