// `watch --once` against the real broker: the sample tree, restarts with the checkpoint,
// changes made while the watcher was down, and what must never be read.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpointStore } from '../../../ingest/watch/checkpoint-store.ts';
import { runWatch, type WatchSummary } from '../../../ingest/watch/watch-loop.ts';
import { copySamples, createTestTopic, errorEvents, identities, realPublisher, tapTopic, tempDir, type TestTopic, type TopicTap } from './helpers.ts';

const VALID_SAMPLE_RUNS = [
  '2026-11-20/acct-000117.invoice-sync',
  '2026-11-20/acct-000118.invoice-sync',
  '2026-11-21/acct-000117.invoice-sync',
  '2026-11-21/feed-eu-0042',
  '2026-11-21/feed-eu-0043',
  '2026-11-21/report.daily.2026-11-21',
];

describe('watch --once', () => {
  let topic: TestTopic;
  let tap: TopicTap;
  let root: string;
  const checkpointDir = tempDir('checkpoint');

  async function once(): Promise<WatchSummary> {
    const publisher = await realPublisher(topic.config);
    try {
      const checkpoint = openCheckpointStore({ checkpointDir, root });
      return await runWatch({ options: { root, once: true, ingestor: { retryDelaysMs: [50, 100] } }, publisher, checkpoint, log: () => {} });
    } finally {
      await publisher.close();
    }
  }

  beforeAll(async () => {
    topic = await createTestTopic('once');
    tap = await tapTopic(topic.config);
    root = copySamples();
    // Never to be read: a run directory linked out of the root, a non-date folder, an
    // impossible date, a non-JSON file, a file linked out of the root.
    const outside = join(tempDir('outside'), 'acct-000999.invoice-sync');
    mkdirSync(outside);
    writeFileSync(join(outside, 'run.json'), JSON.stringify({ key: 'acct-000999.invoice-sync', job: 'x', host: 'h', attempt: 1, status: 'succeeded', started_at: '2026-11-21T00:00:00Z', finished_at: null, exit_code: 0 }));
    writeFileSync(join(outside, 'secret.json'), '{"secret": 42}');
    symlinkSync(outside, join(root, '2026-11-21', 'acct-000999.invoice-sync'));
    symlinkSync(join(outside, 'secret.json'), join(root, '2026-11-21', 'feed-eu-0043', 'leak.json'));
    for (const folder of ['notes', '2026-13-01', '2026-02-30']) {
      mkdirSync(join(root, folder, 'acct-000001.invoice-sync'), { recursive: true });
      writeFileSync(join(root, folder, 'acct-000001.invoice-sync', 'run.json'), '{}');
    }
    writeFileSync(join(root, '2026-11-21', 'feed-eu-0042', 'notes.txt'), 'not json');
    mkdirSync(join(root, '2026-11-21', 'bad key!'));
  });

  afterAll(async () => {
    await tap?.close();
  });

  it('publishes exactly the valid runs and reports broken-0001, a linked run directory and a bad key', async () => {
    const summary = await once();
    expect(summary).toMatchObject({ published: 6, errors: 3 });
    await tap.waitFor((events) => events.length >= 9, 'nine events');
    expect(identities(tap.events)).toEqual(VALID_SAMPLE_RUNS);
    const errors = errorEvents(tap.events).map(({ key, kind, file }) => ({ key, kind, file }));
    expect(errors).toEqual(
      expect.arrayContaining([
        { key: 'broken-0001', kind: 'incomplete', file: 'run.json' },
        { key: 'acct-000999.invoice-sync', kind: 'foreign', file: '' },
        { key: 'bad key!', kind: 'invalid', file: '' },
      ]),
    );
    const feed = tap.events.find(({ event }) => event.schema === 'runlens.run/1' && event.key === 'feed-eu-0043');
    expect(feed?.event.schema === 'runlens.run/1' && feed.event.files.map((file) => file.name)).toEqual(['run.json']); // the link was not read
  });

  it('publishes nothing new on a restart with the checkpoint', async () => {
    const summary = await once();
    expect(summary).toMatchObject({ published: 0, errors: 0, unchanged: 9 });
  });

  it('publishes on restart what changed while it was down', async () => {
    const run = join(root, '2026-11-20', 'acct-000118.invoice-sync', 'run.json');
    writeFileSync(run, JSON.stringify({ key: 'acct-000118.invoice-sync', job: 'invoice-sync', host: 'worker-03', attempt: 3, status: 'failed', started_at: '2026-11-22T00:00:00.000Z', finished_at: '2026-11-22T00:00:09.000Z', exit_code: 3 }));
    const header = { key: 'broken-0001', job: 'feed-import', host: 'worker-09', attempt: 1, status: 'succeeded', started_at: '2026-11-21T10:00:00.000Z', finished_at: '2026-11-21T10:00:01.000Z', exit_code: 0 };
    writeFileSync(join(root, '2026-11-21', 'broken-0001', 'run.json'), JSON.stringify(header));
    const summary = await once();
    expect(summary).toMatchObject({ published: 2, errors: 0 });
    await tap.waitFor((events) => events.length >= 11, 'the two changed runs');
    const latest = tap.events.slice(9).map(({ event }) => (event.schema === 'runlens.run/1' ? `${event.key}#${event.attempt}` : 'error'));
    expect(latest.sort()).toEqual(['acct-000118.invoice-sync#3', 'broken-0001#1']);
  });
});
