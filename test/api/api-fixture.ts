// A private database (migrated by createTestPipeline) plus the API app pointed at it as
// the ClickHouse admin user (the `api` user only sees `runlens`), with a fixed clock.
// Events become rows through the sink's own row mapping (routeMessage), one INSERT per
// send() like one sink batch, so versions sent apart are stored as separate rows.
// (Not through Kafka + the running sink: at c01eb27 the sink's rollup hook fails every
// batch on 18.16 — "Type mismatch in IN" in ingest/rollup/dirty-notes.ts — which is not
// what these tests are about.)
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { createApp, type Api } from '../../api/app.ts';
import { parseApiConfig, type ApiConfig } from '../../api/config.ts';
import { RUN_EVENT_SCHEMA_ID, type RunEvent } from '../../ingest/event/run-event.ts';
import { encodeEvent } from '../../ingest/event/wire.ts';
import { routeMessage, RUN_COLUMNS } from '../../ingest/sink/rows.ts';
import { createTestPipeline, type TestPipeline } from '../support/pipeline.ts';
import { pollUntil } from '../support/poll.ts';

export const TOKENS = { viewer: 'test-viewer-token', analyst: 'test-analyst-token', admin: 'test-admin-token' } as const;
export type TokenRole = keyof typeof TOKENS;

export interface ApiFixture {
  pipeline: TestPipeline;
  api: Api;
  config: ApiConfig;
  logs: string[];
  send(events: RunEvent[]): Promise<void>;
  /** Waits until `runs FINAL` holds exactly this many runs. */
  waitForRuns(count: number): Promise<void>;
  get(path: string, role?: TokenRole | null, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export const FIXED_NOW = Date.parse('2026-11-22T00:00:00Z');

export async function createApiFixture(name: string, env: Record<string, string> = {}): Promise<ApiFixture> {
  const pipeline = await createTestPipeline(name);
  let offset = 0;
  const config = parseApiConfig({
    RUNLENS_CLICKHOUSE_URL: pipeline.config.clickhouse.url,
    RUNLENS_CLICKHOUSE_DATABASE: pipeline.config.clickhouse.database,
    RUNLENS_API_TOKENS: Object.entries(TOKENS).map(([role, token]) => `${role}:${token}`).join(','),
    ...env,
  });
  const clickhouse = createClickHouseClient({ url: config.clickhouse.url, ...pipeline.config.clickhouse.admin, database: config.clickhouse.database });
  const logs: string[] = [];
  const api = createApp({ clickhouse, config, clock: () => FIXED_NOW, log: (line) => logs.push(line) });
  return {
    pipeline,
    api,
    config,
    logs,
    async send(events) {
      const rows = events.map((event) => {
        const routed = routeMessage(Buffer.from(encodeEvent(event).value), { topic: pipeline.config.kafka.topic, partition: 0, offset: String(offset++), timestampMs: Date.now() }, Date.now());
        if (routed.table !== 'runs') throw new Error(`test event is not a valid run: ${JSON.stringify(routed.row).slice(0, 300)}`);
        return routed.row;
      });
      await pipeline.admin.insert({ table: `${pipeline.config.clickhouse.database}.runs`, values: rows, format: 'JSONEachRow', columns: [...RUN_COLUMNS] });
    },
    async waitForRuns(count) {
      await pollUntil(
        () => pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${pipeline.config.clickhouse.database}.runs FINAL`),
        (rows) => rows[0]?.n === count,
        { what: `${count} runs stored`, timeoutMs: 30_000 },
      );
    },
    async get(path, role = 'admin', init = {}) {
      const headers = new Headers(init.headers);
      if (role) headers.set('Authorization', `Bearer ${TOKENS[role]}`);
      const response = await api.app.request(path, { ...init, headers });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (metrics)
      }
      return { status: response.status, body, headers: response.headers };
    },
    async close() {
      await clickhouse.close();
      await pipeline.close();
    },
  };
}

/** A valid run event; every field can be overridden. */
export function runEvent(overrides: Partial<RunEvent> & Pick<RunEvent, 'run_date' | 'key'>): RunEvent {
  const startedAt = overrides.started_at_ms ?? Date.parse(`${overrides.run_date}T12:00:00Z`);
  return {
    schema: RUN_EVENT_SCHEMA_ID,
    job: 'job',
    host: 'host',
    attempt: 1,
    status: 'succeeded',
    started_at_ms: startedAt,
    finished_at_ms: startedAt + 1000,
    exit_code: 0,
    labels: {},
    error_type: '',
    error_message: '',
    metrics: [],
    metrics_truncated: false,
    files: [],
    source: 'publish',
    origin: 'test',
    written_at_ms: startedAt + 1000,
    published_at_ms: startedAt + 1000,
    ...overrides,
  };
}

export function query(params: Record<string, string | number | string[]>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
  }
  return search.toString();
}
