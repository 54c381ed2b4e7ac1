// The dashboard under test: built (when stale), served by the real API (startApi) on a free
// port, over a private database filled through the real pipeline — a run tree watched by
// runWatch, published to Kafka, stored by the sink — and a headless Debian chromium.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseApiConfig } from '../../api/config.ts';
import { startApi, type RunningApi } from '../../api/index.ts';
import { ensureDashboardBuilt, type BuildReport } from '../../dashboard/build.ts';
import { createPublisher } from '../../ingest/publish/publisher.ts';
import type { RunEventPublisher } from '../../ingest/publish/run-event-publisher.ts';
import { generateTree } from '../../ingest/simulate/generate-tree.ts';
import { openCheckpointStore } from '../../ingest/watch/checkpoint-store.ts';
import { runWatch } from '../../ingest/watch/watch-loop.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';
import { samplesRoot } from '../support/sample-events.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const screenshotDir = new URL('../../test-results/screenshots/', import.meta.url).pathname;

export interface DashboardFixture {
  pipeline: TestPipeline;
  api: RunningApi;
  build: BuildReport;
  root: string;
  today: string;
  browser: BrowserContext;
  /** A page that records console errors and failed requests. */
  openPage(options?: { width?: number; height?: number }): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function createDashboardFixture(name: string, { runs = 2000 }: { runs?: number } = {}): Promise<DashboardFixture> {
  const build = await ensureDashboardBuilt({ log: (line) => console.error(line) });
  const pipeline = await createTestPipeline(name, { RUNLENS_ROLLUP_MAINTAIN: '0' });
  await pipeline.startSink();
  const work = mkdtempSync(join(tmpdir(), 'runlens-dashboard-'));
  const root = join(work, 'runs');
  cpSync(samplesRoot, root, { recursive: true });
  const today = new Date().toISOString().slice(0, 10);
  const expected = generateTree({ root, runs, days: 3, seed: 11, endDate: today });
  const publisher: RunEventPublisher = await createPublisher(pipeline.config, { log: () => {}, spoolDir: join(work, 'spool') });
  const checkpoint = openCheckpointStore({ checkpointDir: join(work, 'checkpoints'), root, log: () => {} });
  const stopWatching = new AbortController();
  const watching = runWatch({ options: { root, scanIntervalMs: 1_000 }, publisher, checkpoint, log: () => {}, signal: stopWatching.signal });
  const db = pipeline.config.clickhouse.database;
  await pollUntil(
    () => pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${db}.runs FINAL`),
    (rows) => (rows[0]?.n ?? 0) >= expected.size,
    { timeoutMs: 60_000, what: `${expected.size} runs stored` },
  );

  const id = db.slice(2);
  const admin = pipeline.config.clickhouse.admin;
  const config = parseApiConfig({
    RUNLENS_API_HOST: '127.0.0.1',
    RUNLENS_API_PORT: '0',
    RUNLENS_CLICKHOUSE_URL: pipeline.config.clickhouse.url,
    RUNLENS_CLICKHOUSE_DATABASE: db,
    // The api and sql users may only read `runlens`; this database is the test's own, so
    // the admin user stands in for both (the SQL route keeps the console read-only itself;
    // sql-console.test.ts proves the real sql user refuses writes).
    RUNLENS_CLICKHOUSE_API_USER: admin.username,
    RUNLENS_CLICKHOUSE_API_PASSWORD: admin.password,
    RUNLENS_CLICKHOUSE_SQL_USER: admin.username,
    RUNLENS_CLICKHOUSE_SQL_PASSWORD: admin.password,
    RUNLENS_KAFKA_BROKERS: pipeline.config.kafka.brokers.join(','),
    RUNLENS_KAFKA_TOPIC: pipeline.config.kafka.topic,
    RUNLENS_KAFKA_SINK_GROUP: pipeline.config.kafka.sinkGroup,
    RUNLENS_ALERT_LEADER_TOPIC: `t.${id}.alerting-leader`,
    RUNLENS_ALERT_LEADER_GROUP: `t.${id}.alerting`,
    RUNLENS_SPOOL_DIR: join(work, 'spool'),
    RUNLENS_SQL_RATE_PER_MINUTE: '600',
  });
  const logs: string[] = [];
  const api = await startApi(config, { log: (line) => logs.push(line) });

  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'runlens-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport: { width: 1280, height: 900 },
    baseURL: api.url,
  });
  mkdirSync(screenshotDir, { recursive: true });

  return {
    pipeline,
    api,
    build,
    root,
    today,
    browser,
    async openPage({ width = 1280, height = 900 } = {}) {
      const page = await browser.newPage();
      await page.setViewportSize({ width, height });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`HTTP ${response.status()} ${response.url()}`);
      });
      return { page, problems };
    },
    async close() {
      await browser?.close().catch(() => {});
      await api?.stop();
      stopWatching.abort();
      await watching.catch(() => {});
      await publisher.close();
      await pipeline.close();
      rmSync(work, { recursive: true, force: true });
      if (process.env['RUNLENS_DEBUG']) console.error(logs.filter((line) => line.includes('"error"')).slice(0, 20).join('\n'));
    },
  };
}

/** A finished run written into today's folder of the watched tree, as a script would. */
export function writeRun(root: string, date: string, key: string, run: { job: string; status: 'succeeded' | 'failed'; startedMs: number; durationMs: number }): void {
  const dir = join(root, date, key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify({
    key, job: run.job, host: 'worker-test', attempt: 1, status: run.status,
    started_at: new Date(run.startedMs).toISOString(), finished_at: new Date(run.startedMs + run.durationMs).toISOString(),
    exit_code: run.status === 'succeeded' ? 0 : 1,
  }));
}
