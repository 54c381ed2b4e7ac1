// The live simulator: runs go running → final, files are sometimes half-written for a
// moment, and when it returns every run on disk is complete and valid.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunEvent } from '../../../ingest/event/build-run-event.ts';
import { simulate } from '../../../ingest/simulate/simulator.ts';
import { readRunDir } from '../../../ingest/watch/reader.ts';
import { tempDir } from '../watch/helpers.ts';

describe('simulate', () => {
  it('writes runs at the given rate and leaves every run final and valid when it returns', { timeout: 30_000 }, async () => {
    const root = join(tempDir('sim'), 'runs');
    const startedAt = Date.now();
    const summary = await simulate({ root, rate: 400, durationMs: 1500, runs: Number.MAX_SAFE_INTEGER, days: 3, seed: 5, timeScale: 0.002 });
    expect(summary.started).toBeGreaterThan(400);
    expect(summary.halfWritten).toBeGreaterThan(0);
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    const statuses = new Map<string, number>();
    for (const date of readdirSync(root)) {
      for (const key of readdirSync(join(root, date))) {
        const read = readRunDir(join(root, date, key));
        if (!read.ok) throw new Error(`${date}/${key}: ${read.reason}`);
        const outcome = buildRunEvent({ runDate: date, key, files: read.files, writtenAtMs: read.writtenAtMs, publishedAtMs: Date.now(), source: 'simulate', origin: 'test' });
        if (!outcome.ok) throw new Error(`${date}/${key}: ${outcome.file}: ${outcome.reason}`);
        statuses.set(outcome.event.status, (statuses.get(outcome.event.status) ?? 0) + 1);
      }
    }
    expect(statuses.get('running') ?? 0).toBe(0);
    expect(statuses.get('succeeded')).toBeGreaterThan(0);
    expect((statuses.get('failed') ?? 0) + (statuses.get('timeout') ?? 0)).toBeGreaterThan(0);
  });
});
