// generateTree: a finished tree, deterministic by seed, whose returned expectations are
// what a correct ingest must find on disk.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunEvent } from '../../../ingest/event/build-run-event.ts';
import { generateTree } from '../../../ingest/simulate/generate-tree.ts';
import { readRunDir } from '../../../ingest/watch/reader.ts';
import { tempDir } from '../watch/helpers.ts';

function treeHash(root: string): string {
  const hash = createHash('sha256');
  for (const date of readdirSync(root).sort())
    for (const key of readdirSync(join(root, date)).sort())
      for (const file of readdirSync(join(root, date, key)).sort()) hash.update(`${date}/${key}/${file}\n`).update(readFileSync(join(root, date, key, file)));
  return hash.digest('hex');
}

describe('generateTree', () => {
  it('writes the same tree for the same seed, and another for another seed', () => {
    const options = { runs: 300, days: 3, endDate: '2026-11-21' };
    const a = join(tempDir('gen'), 'runs');
    const b = join(tempDir('gen'), 'runs');
    const c = join(tempDir('gen'), 'runs');
    generateTree({ root: a, seed: 7, ...options });
    generateTree({ root: b, seed: 7, ...options });
    generateTree({ root: c, seed: 8, ...options });
    expect(treeHash(a)).toBe(treeHash(b));
    expect(treeHash(a)).not.toBe(treeHash(c));
  });

  it('returns, per (date, key), the status and attempt that run.json holds, and every run is valid', () => {
    const root = join(tempDir('gen'), 'runs');
    const expected = generateTree({ root, runs: 2000, days: 4, seed: 1, endDate: '2026-11-21' });
    expect(expected.size).toBe(2000);
    expect(readdirSync(root).sort()).toEqual(['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21']);
    const statuses = new Set<string>();
    const jobs = new Set<string>();
    let withOffset = 0;
    let withErrorObject = 0;
    for (const [id, run] of expected) {
      const [date, key] = id.split('/') as [string, string];
      const read = readRunDir(join(root, date, key));
      if (!read.ok) throw new Error(`${id}: ${read.reason}`);
      const outcome = buildRunEvent({ runDate: date, key, files: read.files, writtenAtMs: read.writtenAtMs, publishedAtMs: Date.now(), source: 'simulate', origin: 'test' });
      if (!outcome.ok) throw new Error(`${id}: ${outcome.file}: ${outcome.reason}`);
      expect({ status: outcome.event.status, attempt: outcome.event.attempt }).toEqual(run);
      statuses.add(run.status);
      jobs.add(outcome.event.job);
      if (!JSON.parse(new TextDecoder().decode(read.files.find((f) => f.name === 'run.json')!.bytes)).started_at.endsWith('Z')) withOffset++;
      if (outcome.event.error_type !== '') withErrorObject++;
      if (run.status !== 'running') expect(outcome.event.metrics.map((m) => m.path)).toContain('timings_ms.fetch');
    }
    expect([...statuses].sort()).toEqual(['cancelled', 'failed', 'running', 'succeeded', 'timeout']);
    expect(jobs.size).toBeGreaterThan(200);
    expect(withOffset).toBeGreaterThan(50);
    expect(withErrorObject).toBeGreaterThan(20);
  });
});
