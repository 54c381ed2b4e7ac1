// Helpers for the alerting tests: a local webhook receiver, a rules folder, an Alerting
// instance over a test pipeline's database, and runs published through the real publisher.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAlerting, type Alerting } from '../../api/alerting/alerting.ts';
import { parseAlertingConfig, starterRulesDir } from '../../api/alerting/config.ts';
import { createKafka } from '../../ingest/kafka/index.ts';
import type { Publisher } from '../../ingest/publish/publisher.ts';
import { buildPublishedEvent } from '../../ingest/publish/publish-run-directory.ts';
import type { TestPipeline } from '../support/pipeline.ts';
import { uniqueName } from '../support/poll.ts';

export const TEST_SECRET = 'test-alert-secret-0123456789';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  status: number;
}

export interface Receiver {
  url: string;
  /** Every request, including the ones answered with an error. */
  requests: ReceivedRequest[];
  /** Requests answered 2xx, i.e. notifications delivered. */
  delivered(path?: string): ReceivedRequest[];
  /** Decides the status per request (default 200). */
  respond: (path: string, count: number) => number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const counts = new Map<string, number>();
  const receiver: Receiver = {
    url: '',
    requests: [],
    delivered: (path) => receiver.requests.filter((request) => request.status < 300 && (path === undefined || request.path === path)),
    respond: () => 200,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      const count = (counts.get(path) ?? 0) + 1;
      counts.set(path, count);
      const body = Buffer.concat(chunks).toString('utf8');
      const status = receiver.respond(path, count);
      receiver.requests.push({ path, headers: request.headers, body, json: JSON.parse(body) as Record<string, unknown>, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.keepAliveTimeout = 500;
  return receiver;
}

/** A fresh rules folder with `webhook` and `slack` channels pointing at the receiver. */
export function makeRulesDir(receiverUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'runlens-alert-rules-'));
  writeJson(dir, 'channels.json', {
    channels: {
      webhook: { type: 'webhook', url: `${receiverUrl}/hook` },
      slack: { type: 'slack', url: `${receiverUrl}/slack` },
    },
  });
  return dir;
}

export function writeJson(dir: string, file: string, document: unknown): void {
  writeFileSync(join(dir, file), `${JSON.stringify(document, null, 2)}\n`);
}

/** A shipped starter rule, as written in api/alerting/rules, with test overrides. */
export function starterRule(name: string, overrides: Record<string, unknown>): Record<string, unknown> {
  for (const file of ['jobs.json', 'ingest.json']) {
    const document = JSON.parse(readFileSync(join(starterRulesDir, file), 'utf8')) as { rules: Array<Record<string, unknown>> };
    const rule = document.rules.find((candidate) => candidate.name === name);
    if (rule) return { ...rule, channels: ['webhook'], ...overrides };
  }
  throw new Error(`no starter rule ${name}`);
}

export interface TestAlertingOptions {
  rulesDir: string;
  instanceId?: string;
  env?: Record<string, string>;
  leaderTopic?: string;
  leaderGroup?: string;
}

/**
 * An Alerting over the pipeline's private database. Rule SQL runs as `admin`: the `sql`
 * user may only read the `runlens` database (allow_databases), see sql-user.test.ts.
 */
export function testAlerting(pipeline: TestPipeline, options: TestAlertingOptions): Alerting {
  const id = uniqueName('alert');
  const config = parseAlertingConfig({
    RUNLENS_ALERT_RULES_DIR: options.rulesDir,
    RUNLENS_ALERT_WEBHOOK_SECRET: TEST_SECRET,
    RUNLENS_KAFKA_BROKERS: pipeline.config.kafka.brokers.join(','),
    RUNLENS_ALERT_LEADER_TOPIC: options.leaderTopic ?? `t.${id}.leader`,
    RUNLENS_ALERT_LEADER_GROUP: options.leaderGroup ?? `t.${id}.leader`,
    RUNLENS_ALERT_SESSION_TIMEOUT_MS: '6000',
    RUNLENS_ALERT_HEARTBEAT_MS: '500',
    RUNLENS_ALERT_RELOAD_DEBOUNCE_MS: '100',
    RUNLENS_ALERT_SYNC_INTERVAL_MS: '500',
    RUNLENS_ALERT_DELIVERY_TIMEOUT_MS: '1000',
    RUNLENS_ALERT_DELIVERY_BACKOFF_MS: '100',
    RUNLENS_ALERT_DELIVERY_MAX_BACKOFF_MS: '400',
    RUNLENS_ALERT_DELIVERY_MAX_ATTEMPTS: '4',
    ...options.env,
  });
  return createAlerting({
    config,
    database: pipeline.config.clickhouse.database,
    ruleClient: pipeline.admin,
    writer: pipeline.admin,
    kafka: createKafka({ brokers: config.leader.brokers, clientId: options.instanceId ?? 'alerting-test' }),
    instanceId: options.instanceId ?? id,
    log: () => {},
  });
}

export interface TestRun {
  job: string;
  status: 'succeeded' | 'failed' | 'timeout' | 'running';
  startedAtMs: number;
  durationMs?: number;
  key?: string;
  attempt?: number;
}

let runCounter = 0;

/** Publishes runs as `runlens publish` does (buildPublishedEvent → publisher → Kafka). */
export async function publishRuns(publisher: Publisher, runs: readonly TestRun[]): Promise<string[]> {
  const keys: string[] = [];
  const events = runs.map((run) => {
    const key = run.key ?? `${run.job}.${Date.now().toString(36)}.${++runCounter}`;
    keys.push(key);
    const finished = run.status === 'running' ? null : new Date(run.startedAtMs + (run.durationMs ?? 1_000)).toISOString();
    return buildPublishedEvent({
      runDate: new Date(run.startedAtMs).toISOString().slice(0, 10),
      key,
      files: {
        'run.json': JSON.stringify({
          key, job: run.job, host: 'test-host', attempt: run.attempt ?? 1, status: run.status,
          started_at: new Date(run.startedAtMs).toISOString(), finished_at: finished,
          exit_code: run.status === 'succeeded' ? 0 : run.status === 'running' ? null : 1,
        }),
      },
    }, Date.now());
  });
  await publisher.publish(events);
  return keys;
}

/** Notifications the receiver accepted on one path, by kind. */
export function notices(receiver: Receiver, path: string, rule: string): Array<{ kind: string; dedupKey: string; status: string; labels: Record<string, string> }> {
  return receiver
    .delivered(path)
    .map((request) => request.json as { kind: string; dedupKey: string; status: string; rule: string; labels: Record<string, string> })
    .filter((payload) => payload.rule === rule);
}
