// The watcher following a tree live, against the real broker: inotify latency, rewrites,
// half-written files, reruns in old day folders found by the reconciliation scan.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../ingest/event/run-event.ts';
import type { Publisher } from '../../../ingest/publish/publisher.ts';
import { openCheckpointStore } from '../../../ingest/watch/checkpoint-store.ts';
import { runWatch, type WatchSummary } from '../../../ingest/watch/watch-loop.ts';
import { copySamples, createTestTopic, utcDaysAgo, errorEvents, realPublisher, runEvents, tapTopic, tempDir, type TestTopic, type TopicTap } from './helpers.ts';

// The samples' day folders become today's and yesterday's (UTC), which the watcher follows
// live; an old day folder, ten days back, is found only by the reconciliation scan.
const TODAY = utcDaysAgo(0);
const YESTERDAY = utcDaysAgo(1);
const OLD_DAY = utcDaysAgo(10);

function header(key: string, attempt: number, status = 'succeeded') {
  return `${JSON.stringify({ key, job: 'feed-import', host: 'worker-09', attempt, status, started_at: '2026-11-21T10:00:00.000Z', finished_at: status === 'running' ? null : '2026-11-21T10:00:01.000Z', exit_code: status === 'running' ? null : 0 }, null, 2)}\n`;
}

function runVersions(tap: TopicTap, key: string): Array<{ event: RunEvent; timestampMs: number }> {
  return tap.events.flatMap(({ event, timestampMs }) => (event.schema === 'runlens.run/1' && event.key === key ? [{ event, timestampMs }] : []));
}

interface Running {
  stop(): Promise<WatchSummary>;
  backfilled: Promise<void>;
}

// The live tests run with an hour-long scan interval: whatever arrives within this deadline
// was found by the live follower (inotify), not by reconciliation.
const LIVE_DEADLINE_MS = 5_000;

function startWatch(root: string, checkpointDir: string, publisher: Publisher, scanIntervalMs: number): Running {
  const controller = new AbortController();
  let backfilled!: () => void;
  const backfilledPromise = new Promise<void>((resolve) => (backfilled = resolve));
  const done = runWatch({
    options: { root, scanIntervalMs, coldDaysPerScan: 5 },
    publisher,
    checkpoint: openCheckpointStore({ checkpointDir, root }),
    log: (line) => console.error(line),
    signal: controller.signal,
    onBackfilled: () => backfilled(),
  });
  return {
    backfilled: backfilledPromise,
    async stop() {
      controller.abort();
      return done;
    },
  };
}

describe('watch, following live', () => {
  let topic: TestTopic;
  let tap: TopicTap;
  let publisher: Publisher;
  let root: string;
  let watcher: Running;
  const checkpointDir = tempDir('checkpoint');

  beforeAll(async () => {
    topic = await createTestTopic('live');
    tap = await tapTopic(topic.config);
    publisher = await realPublisher(topic.config);
    root = copySamples({ '2026-11-21': TODAY, '2026-11-20': YESTERDAY });
    const old = join(root, OLD_DAY, 'acct-000300.invoice-sync');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'run.json'), header('acct-000300.invoice-sync', 1));
    // Scans are an hour apart: whatever is published within a second came from inotify.
    watcher = startWatch(root, checkpointDir, publisher, 3_600_000);
    await watcher.backfilled;
  });

  afterAll(async () => {
    await watcher?.stop();
    await publisher?.close();
    await tap?.close();
  });

  it('backfills the tree first: the seven valid runs and broken-0001 as incomplete', async () => {
    await tap.waitFor((events) => events.length >= 8, 'the backfill');
    expect(runEvents(tap.events)).toHaveLength(7);
    expect(errorEvents(tap.events).map((error) => [error.key, error.kind])).toEqual([['broken-0001', 'incomplete']]);
  });

  it('publishes broken-0001 within a second of it being completed', async () => {
    const writtenAt = Date.now();
    writeFileSync(join(root, TODAY, 'broken-0001', 'run.json'), header('broken-0001', 1));
    await tap.waitFor(() => runVersions(tap, 'broken-0001').length === 1, 'broken-0001 to be published', 5_000);
    // Well inside the scan interval: only the live follower can have seen it. The latency
    // figure itself is a benchmark's job (ingest/bench/pipeline-bench.ts), not a timed test's.
    expect(runVersions(tap, 'broken-0001')[0]!.timestampMs - writtenAt).toBeLessThan(LIVE_DEADLINE_MS);
  });

  it('publishes a rerun (attempt 2) rewritten in place again', async () => {
    const key = 'feed-eu-0043';
    writeFileSync(join(root, TODAY, key, 'run.json'), header(key, 2, 'running'));
    await tap.waitFor(() => runVersions(tap, key).some(({ event }) => event.attempt === 2 && event.status === 'running'), 'attempt 2 running', 5_000);
    writeFileSync(join(root, TODAY, key, 'result.json'), '{"records_in": 5, "timings_ms": {"fetch": 1.5}}');
    writeFileSync(join(root, TODAY, key, 'run.json'), header(key, 2));
    await tap.waitFor(() => runVersions(tap, key).some(({ event }) => event.attempt === 2 && event.status === 'succeeded' && event.metrics.length === 2), 'attempt 2 succeeded', 5_000);
  });

  it('waits for a half-written file to be completed instead of reporting it', async () => {
    const key = 'acct-000500.invoice-sync';
    const dir = join(root, TODAY, key);
    mkdirSync(dir);
    const full = header(key, 1);
    writeFileSync(join(dir, 'run.json'), full.slice(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 300));
    writeFileSync(join(dir, 'run.json'), full);
    await tap.waitFor(() => runVersions(tap, key).length === 1, `${key} to be published`, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // past every re-read delay
    expect(errorEvents(tap.events).filter((error) => error.key === key)).toEqual([]);
    expect(runVersions(tap, key)).toHaveLength(1);
  });

  it('publishes a burst of 300 new runs live, without waiting for a reconciliation scan', async () => {
    const written = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const key = `lat-${String(i).padStart(4, '0')}`;
      mkdirSync(join(root, TODAY, key));
      written.set(key, Date.now());
      writeFileSync(join(root, TODAY, key, 'run.json'), header(key, 1));
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 30)); // ~300 runs/s in bursts of 10
    }
    await tap.waitFor(() => [...written.keys()].every((key) => runVersions(tap, key).length > 0), 'all 300 runs', 20_000);
    const latencies = [...written].map(([key, at]) => runVersions(tap, key)[0]!.timestampMs - at).sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length * 0.5)]!;
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    console.log(`write → publish latency over ${latencies.length} runs: p50 ${p50} ms, p99 ${p99} ms, max ${latencies.at(-1)} ms`);
    // Every run arrived well before a scan could have found it (the figures are printed,
    // and measured properly by the pipeline benchmark).
    expect(latencies.at(-1)).toBeLessThan(LIVE_DEADLINE_MS);
  });

  it('finds a rerun rewritten in place in an old day folder with the reconciliation scan, after a restart publishes nothing twice', async () => {
    const summary = await watcher.stop();
    expect(summary.errors).toBe(1);
    const before = tap.events.length;
    watcher = startWatch(root, checkpointDir, publisher, 300);
    await watcher.backfilled;
    expect(tap.events.length).toBe(before);
    // Ten days back is not watched: rewritten in place, it changes no directory's mtime.
    const key = 'acct-000300.invoice-sync';
    writeFileSync(join(root, OLD_DAY, key, 'run.json'), header(key, 3));
    await tap.waitFor(() => runVersions(tap, key).some(({ event }) => event.attempt === 3), 'the rerun in the old day', 10_000);
  });
});
