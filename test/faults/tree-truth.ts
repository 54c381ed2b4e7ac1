// What ClickHouse must hold for a run tree: every run directory read exactly as the
// watcher reads it, newest state on disk. Compared with `runs FINAL` after a fault.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildRunEvent } from '../../ingest/event/build-run-event.ts';
import type { TestPipeline } from '../support/pipeline.ts';

export interface RunTruth { status: string; attempt: number }

export function readTreeTruth(root: string): { runs: Map<string, RunTruth>; unreadable: string[] } {
  const runs = new Map<string, RunTruth>();
  const unreadable: string[] = [];
  for (const date of readdirSync(root).filter((name) => /^\d{4}-\d{2}-\d{2}$/.test(name))) {
    for (const key of readdirSync(join(root, date))) {
      const dir = join(root, date, key);
      const names = readdirSync(dir).filter((name) => name.endsWith('.json'));
      const outcome = buildRunEvent({
        runDate: date,
        key,
        files: names.map((name) => ({ name, bytes: readFileSync(join(dir, name)) })),
        writtenAtMs: Math.max(0, ...names.map((name) => statSync(join(dir, name)).mtimeMs)),
        publishedAtMs: Date.now(),
        source: 'watch',
        origin: dir,
      });
      if (outcome.ok) runs.set(`${date}/${key}`, { status: outcome.event.status, attempt: outcome.event.attempt });
      else unreadable.push(`${date}/${key}: ${outcome.reason}`);
    }
  }
  return { runs, unreadable };
}

export interface StoredState {
  runs: Map<string, RunTruth>;
  /** Identities that `runs FINAL` returns more than once: must never happen. */
  duplicated: string[];
}

export async function readStored(pipeline: TestPipeline): Promise<StoredState> {
  const rows = await pipeline.query<{ id: string; status: string; attempt: number }>(
    `SELECT concat(toString(run_date), '/', key) AS id, status, attempt FROM ${pipeline.config.clickhouse.database}.runs FINAL`,
  );
  const runs = new Map<string, RunTruth>();
  const duplicated: string[] = [];
  for (const row of rows) {
    if (runs.has(row.id)) duplicated.push(row.id);
    runs.set(row.id, { status: row.status, attempt: row.attempt });
  }
  return { runs, duplicated };
}

/** Runs that differ: missing, extra, or with another status/attempt. */
export function compareWithTree(truth: Map<string, RunTruth>, stored: Map<string, RunTruth>): { missing: string[]; extra: string[]; different: string[] } {
  const missing: string[] = [];
  const different: string[] = [];
  for (const [id, run] of truth) {
    const got = stored.get(id);
    if (!got) missing.push(id);
    else if (got.status !== run.status || got.attempt !== run.attempt) different.push(`${id}: want ${run.status}/${run.attempt}, got ${got.status}/${got.attempt}`);
  }
  const extra = [...stored.keys()].filter((id) => !truth.has(id));
  return { missing, extra, different };
}
