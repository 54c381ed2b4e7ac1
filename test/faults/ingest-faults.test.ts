// Crashes in the ingest path under a steady flow of runs. Each case runs the real
// processes (runlens simulate, watch, sink as child processes) against the fault suite's
// own stack, injects the fault, recovers, then compares ClickHouse with the tree on disk
// and every rollup tier with the brute force over `runs FINAL`.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateTree } from '../../ingest/simulate/generate-tree.ts';
import { compareAllTiers } from '../rollup/rollup-truth.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { crash, faultStackEnv, pipelineEnv, restart, runlens, type RunlensChild } from './private-stack.ts';
import { recordOutcome } from './report.ts';
import { compareWithTree, readStored, readTreeTruth } from './tree-truth.ts';

const LABEL_KEYS = ['region', 'tier'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Case {
  pipeline: TestPipeline;
  work: string;
  root: string;
  env: NodeJS.ProcessEnv;
  children: RunlensChild[];
}

let current: Case | null = null;

afterEach(async () => {
  if (!current) return;
  await Promise.all(current.children.map((child) => child.kill('SIGKILL')));
  await current.pipeline.close();
  current = null;
});

async function newCase(name: string): Promise<Case> {
  const pipeline = await createTestPipeline(name, { ...faultStackEnv, RUNLENS_ROLLUP_LABEL_KEYS: LABEL_KEYS.join(',') });
  const work = mkdtempSync(join(tmpdir(), `runlens-fault-${name}-`));
  const root = join(work, 'runs');
  mkdirSync(root); // the watcher starts before the simulator writes anything
  const env = { ...pipelineEnv(pipeline, work), RUNLENS_ROLLUP_LABEL_KEYS: LABEL_KEYS.join(',') };
  current = { pipeline, work, root, env, children: [] };
  return current;
}

function start(c: Case, name: string, args: string[]): RunlensChild {
  const child = runlens(name, args, c.env, c.work);
  c.children.push(child);
  return child;
}

/** A steady flow: new runs, running→final transitions, reruns, half-written files. */
function simulate(c: Case, seconds: number, seed: number): RunlensChild {
  return start(c, 'simulate', ['simulate', c.root, '--rate', '40', '--duration', `${seconds}s`, '--days', '2', '--seed', String(seed), '--time-scale', '0.02']);
}

/** Waits until ClickHouse equals the tree and every rollup equals the brute force; records the outcome. */
async function expectConverged(c: Case, what: string, load: string): Promise<void> {
  const truth = readTreeTruth(c.root);
  expect(truth.unreadable).toEqual([]);
  let last = compareWithTree(truth.runs, new Map());
  let duplicated: string[] = [];
  try {
    await pollUntil(async () => {
      const stored = await readStored(c.pipeline);
      duplicated = stored.duplicated;
      last = compareWithTree(truth.runs, stored.runs);
      return last;
    }, (diff) => diff.missing.length + diff.extra.length + diff.different.length === 0, { timeoutMs: 120_000, intervalMs: 500, what: `${truth.runs.size} runs to match the tree` });
  } finally {
    recordOutcome({
      family: 'fault',
      what,
      load,
      expected: truth.runs.size,
      found: truth.runs.size - last.missing.length,
      lost: last.missing.length,
      duplicated: duplicated.length,
      outcome: last.missing.length + last.different.length + last.extra.length + duplicated.length === 0 ? 'all runs present once, final state exact' : `FAILED: ${last.missing.length} missing, ${last.different.length} different, ${last.extra.length} extra`,
    });
  }
  expect(duplicated).toEqual([]);
  // The simulator's metric values have decimals: sums may differ in the last bits only.
  const rollupDiffs = await pollUntil(() => compareAllTiers(c.pipeline, LABEL_KEYS, 1e-9), (diffs) => diffs.length === 0, {
    timeoutMs: 60_000,
    intervalMs: 1_000,
    what: 'every rollup tier to equal the brute force',
  });
  expect(rollupDiffs).toEqual([]);
}

describe('faults in the ingest path, under a steady flow of runs', () => {
  it('Kafka killed with SIGKILL mid-flow and restarted a minute later: the watcher spools, then drains; every run arrives once', async () => {
    const c = await newCase('kafka_kill');
    start(c, 'sink', ['sink']);
    start(c, 'watch', ['watch', c.root, '--scan-interval', '2s']);
    const flow = simulate(c, 40, 11);
    await sleep(10_000);
    await crash('kafka');
    await sleep(60_000);
    await restart('kafka');
    await flow.exited;
    await expectConverged(c, 'Kafka broker SIGKILL mid-flow, restarted 60 s later', '40 runs/s for 40 s');
  });

  it('ClickHouse killed with SIGKILL mid-ingest and restarted: consumption resumes from the committed position, duplicates collapse, rollups stay exact', async () => {
    const c = await newCase('clickhouse_kill');
    start(c, 'sink', ['sink']);
    start(c, 'watch', ['watch', c.root, '--scan-interval', '2s']);
    const flow = simulate(c, 30, 12);
    await sleep(8_000);
    await crash('clickhouse');
    await sleep(10_000);
    await restart('clickhouse');
    await flow.exited;
    await expectConverged(c, 'ClickHouse SIGKILL mid-ingest, restarted 10 s later', '40 runs/s for 30 s');
  });

  it('the watcher killed mid-backfill and again mid-live, restarted each time: nothing is missed', async () => {
    const c = await newCase('watcher_kill');
    generateTree({ root: c.root, runs: 20_000, days: 3, seed: 13 });
    start(c, 'sink', ['sink']);
    const first = start(c, 'watch-1', ['watch', c.root, '--scan-interval', '2s']);
    await sleep(3_000);
    await first.kill('SIGKILL'); // mid-backfill of 20k runs
    start(c, 'watch-2', ['watch', c.root, '--scan-interval', '2s']);
    const flow = simulate(c, 20, 14);
    await sleep(8_000);
    await c.children.find((child) => child.process.spawnargs.includes('--scan-interval') && child !== first && child.process.exitCode === null)?.kill('SIGKILL');
    start(c, 'watch-3', ['watch', c.root, '--scan-interval', '2s']);
    await flow.exited;
    await expectConverged(c, 'watcher SIGKILL mid-backfill (20k runs) and mid-live, restarted', '20k-run backfill, then 40 runs/s for 20 s');
  });
});
