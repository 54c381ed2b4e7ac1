// Memory and disk: RSS of the API and the watcher as separate processes (`runlens api`,
// `runlens watch`), idle and under load, over histories of different length; bytes on
// disk per run in ClickHouse (system.parts) and in the run tree (du).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import autocannon from 'autocannon';
import { ensureTopic } from '../../stack/stack.ts';
import { localDefaults, localKafkaBrokers } from '../../stack/local-defaults.ts';
import { repeat, stat, type Stat } from '../stats.ts';
import { overviewPaths } from './api-server.ts';
import { rssMb, startRunlens, stopRunlens } from './runlens-process.ts';

/** Samples a process's RSS every 100 ms while `during` runs; the peak. */
async function peakDuring(pid: number, work: PromiseLike<unknown>): Promise<number> {
  let peak = rssMb(pid);
  let done = false;
  // autocannon's return value is a thenable without finally().
  const during = Promise.resolve(work);
  void during.finally(() => { done = true; });
  while (!done) {
    peak = Math.max(peak, rssMb(pid));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await during;
  return peak;
}

export interface ApiRss { database: string; days: number; idle: Stat; load: Stat }

/** `runlens api` over the database: RSS `idleSeconds` after it listens, then the peak under 64 connections on the year overview. */
export async function apiRss(database: string, days: number, seconds: number, idleSeconds: number, repetitions: number): Promise<ApiRss> {
  const samples = await repeat(repetitions, async () => {
    const { child, output } = startRunlens(['api'], {
      RUNLENS_API_PORT: '0', RUNLENS_API_AUTH: 'off', RUNLENS_CLICKHOUSE_DATABASE: database,
      RUNLENS_CLICKHOUSE_API_USER: localDefaults.users.admin.name, RUNLENS_CLICKHOUSE_API_PASSWORD: localDefaults.users.admin.password,
      RUNLENS_ALERTING: '0', RUNLENS_DASHBOARD_DIR: '', RUNLENS_API_QUERY_TIMEOUT_MS: '60000',
    });
    try {
      const deadline = Date.now() + 60_000;
      let port = 0;
      while (!port && Date.now() < deadline) {
        port = Number(/"msg":"listening"[^\n]*"port":(\d+)/.exec(output())?.[1] ?? 0);
        if (child.exitCode !== null) throw new Error(`runlens api exited: ${output().slice(-500)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (!port) throw new Error(`runlens api did not listen: ${output().slice(-500)}`);
      await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
      const idle = rssMb(child.pid!);
      const url = `http://127.0.0.1:${port}${overviewPaths(365, Math.floor(Date.now() / 1000))[0]}`;
      const load = await peakDuring(child.pid!, autocannon({ url, connections: 64, duration: seconds }));
      return { idle, load };
    } finally {
      await stopRunlens(child);
    }
  });
  return { database, days, idle: stat(samples.map((s) => s.idle)), load: stat(samples.map((s) => s.load)) };
}

export interface WatcherRss { days: number; runs: number; load: Stat; idle: Stat }

/** `runlens watch --once` over the tree (peak: load), then `runlens watch` live on the same checkpoint, `idleSeconds` after start (idle). */
export async function watcherRss(root: string, days: number, runs: number, idleSeconds: number, repetitions: number): Promise<WatcherRss> {
  const samples = await repeat(repetitions, async (run) => {
    const topic = `bench.watch.${Date.now()}.${run}`;
    await ensureTopic(localKafkaBrokers, topic, 6);
    const work = mkdtempSync(join(tmpdir(), 'bench-watch-'));
    const env = { RUNLENS_KAFKA_TOPIC: topic, RUNLENS_CHECKPOINT_DIR: join(work, 'checkpoints'), RUNLENS_SPOOL_DIR: join(work, 'spool') };
    try {
      const once = startRunlens(['watch', root, '--once'], env);
      const load = await peakDuring(once.child.pid!, new Promise((resolve) => once.child.once('exit', resolve)));
      if (once.child.exitCode !== 0) throw new Error(`watch --once failed: ${once.output().slice(-500)}`);
      const live = startRunlens(['watch', root], env);
      await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
      const idle = rssMb(live.child.pid!);
      await stopRunlens(live.child);
      return { load, idle };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  return { days, runs, load: stat(samples.map((s) => s.load)), idle: stat(samples.map((s) => s.idle)) };
}

export interface DiskFigure { database: string; runs: number; tables: Array<{ table: string; bytes: number }>; bytesPerRun: number; runsBytesPerRun: number }

export async function clickhouseBytesPerRun(admin: ClickHouseClient, database: string, runs: number): Promise<DiskFigure> {
  const rows = await (await admin.query({
    query: `SELECT table, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '${database}' AND active AND (table = 'runs' OR table LIKE 'rollup_%') GROUP BY table ORDER BY table`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })).json<{ table: string; bytes: number }>();
  const total = rows.reduce((sum, row) => sum + Number(row.bytes), 0);
  const runsBytes = Number(rows.find((row) => row.table === 'runs')?.bytes ?? 0);
  return { database, runs, tables: rows, bytesPerRun: total / runs, runsBytesPerRun: runsBytes / runs };
}

export function treeBytesPerRun(root: string, runs: number): { bytes: number; apparent: number; perRun: number; apparentPerRun: number } {
  const bytes = Number(execFileSync('du', ['-s', '--block-size=1', root]).toString().split('\t')[0]);
  const apparent = Number(execFileSync('du', ['-sb', root]).toString().split('\t')[0]);
  return { bytes, apparent, perRun: bytes / runs, apparentPerRun: apparent / runs };
}
