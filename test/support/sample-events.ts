// Run events built from run directories on disk, exactly as the watcher builds them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildRunEvent, type BuildOutcome } from '../../ingest/event/build-run-event.ts';

export const samplesRoot = new URL('../../../shared/samples/runs', import.meta.url).pathname;

export function buildTreeEvents(root: string, source: 'watch' | 'publish' = 'watch'): Array<{ runDate: string; key: string; outcome: BuildOutcome }> {
  const results: Array<{ runDate: string; key: string; outcome: BuildOutcome }> = [];
  for (const runDate of readdirSync(root).sort()) {
    for (const key of readdirSync(join(root, runDate)).sort()) {
      const dir = join(root, runDate, key);
      const names = readdirSync(dir).filter((name) => name.endsWith('.json'));
      const files = names.map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
      const writtenAtMs = Math.max(...names.map((name) => statSync(join(dir, name)).mtimeMs));
      results.push({
        runDate,
        key,
        outcome: buildRunEvent({ runDate, key, files, writtenAtMs, publishedAtMs: Date.now(), source, origin: dir }),
      });
    }
  }
  return results;
}
