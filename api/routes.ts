// The route table: every route with its method, path, role, parameter schemas and
// response schema. The app is built from it, the OpenAPI document is generated from it,
// and the auth tests walk it, so a route cannot exist without declaring its role.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { Role } from './auth/tokens.ts';
import type { QueryRunner } from './clickhouse/query-runner.ts';
import type { ApiConfig } from './config.ts';
import { checkHealth, healthResponse, livenessResponse } from './health.ts';
import type { ApiEnv } from './http/api-env.ts';
import { parsePath, parseQuery, type QuerySchema } from './http/validate.ts';
import type { MetricsRegistry } from './metrics/registry.ts';
import { buildOpenApi } from './openapi.ts';
import { breakdown, breakdownQuery, breakdownResponse } from './queries/breakdown.ts';
import { jobs, jobsQuery, jobsResponse } from './queries/jobs.ts';
import { runDetail, runDetailPath, runDetailResponse } from './queries/run-detail.ts';
import { runsQuery, runsResponse, searchRuns } from './queries/runs-search.ts';
import { timeseries, timeseriesQuery, timeseriesResponse, type TimeseriesSource } from './queries/timeseries.ts';
import { ingestErrors, ingestErrorsQuery, ingestErrorsResponse } from './queries/ingest-errors.ts';
import { jobSeries, jobSeriesQuery, jobSeriesResponse } from './queries/job-series.ts';
import { leaves, leavesQuery, leavesResponse } from './queries/leaves.ts';
import { pipeline, pipelineQuery, pipelineResponse } from './queries/pipeline.ts';
import type { Rollups } from './queries/rollup-plan.ts';
import { checkRate, type RateLimiter } from './sql-console/rate-limit.ts';
import { runConsoleQuery, sqlRequest, sqlResponse } from './sql-console/sql-runner.ts';
import { badRequest } from './http/api-error.ts';
import { HTTPException } from 'hono/http-exception';

export const API_VERSION = '1.0.0';

export interface RouteDeps {
  clickhouse: ClickHouseClient;
  runner: QueryRunner;
  config: ApiConfig;
  clock: () => number;
  metrics: MetricsRegistry;
  timeseriesSources: readonly TimeseriesSource[];
  /** The rollup tables and their watermark; null: every query reads `runs`. */
  rollups: Rollups | null;
  kafkaCheck?: (() => Promise<void>) | undefined;
  /** The read-only `sql` user's client (no settings, no compression); null: no SQL console here. */
  sqlClickhouse: ClickHouseClient | null;
  sqlLimiter: RateLimiter;
  /** Sub-apps of modules this instance may not run; null answers 503. */
  live: Hono | null;
  alerts: Hono | null;
  /** The live hub's Kafka positions, for the pipeline strip's backlog. */
  kafkaPositions?: (() => Promise<{ head: ReadonlyMap<number, number>; committed: ReadonlyMap<number, number> }>) | undefined;
}

/** A part of the API this instance may run without (tests, RUNLENS_API_LIVE=0, RUNLENS_ALERTING=0). */
export type RouteModule = 'live' | 'alerting' | 'sql';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  operationId: string;
  role: Role | 'public';
  summary: string;
  query?: QuerySchema;
  params?: QuerySchema;
  /** A JSON request body (OpenAPI requestBody). */
  body?: z.ZodType;
  /** Served by a module this instance may not run: 503 when it does not. */
  requires?: RouteModule;
  /** Also answers 429 (rate limits). */
  rateLimited?: boolean;
  usesClickHouse: boolean;
  successStatus?: number;
  response: {
    contentType: 'application/json' | 'text/plain; version=0.0.4' | 'text/event-stream';
    description: string;
    schema?: z.ZodType;
    /** A second status with the same body (healthz: 503 when a dependency is down). */
    alsoStatus?: number;
    alsoDescription?: string;
  };
  handle(c: Context<ApiEnv>, deps: RouteDeps): Promise<Response>;
}

const signalOf = (c: Context) => c.req.raw.signal;

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/api/v1/timeseries',
    operationId: 'timeseries',
    role: 'viewer',
    summary: 'Counts by status, failure rate, duration percentiles or a numeric leaf over time (column-oriented, ≤ 1,500 points).',
    query: timeseriesQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'Column-oriented series for uPlot.', schema: timeseriesResponse },
    async handle(c, deps) {
      const params = parseQuery(c, timeseriesQuery);
      return c.json(await timeseries(params, { runner: deps.runner, sources: deps.timeseriesSources, nowMs: deps.clock(), ingestLagMs: deps.config.ingestLagMs, signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/breakdown',
    operationId: 'breakdown',
    role: 'viewer',
    summary: 'Top values of job, host, status, error_type or a label, with runs and failures.',
    query: breakdownQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'Top values.', schema: breakdownResponse },
    async handle(c, deps) {
      const params = parseQuery(c, breakdownQuery);
      return c.json(await breakdown(params, { runner: deps.runner, nowMs: deps.clock(), ingestLagMs: deps.config.ingestLagMs, rollups: deps.rollups, signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/runs',
    operationId: 'searchRuns',
    role: 'viewer',
    summary: 'Search runs with stable cursor pagination.',
    query: runsQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'A page of runs.', schema: runsResponse },
    async handle(c, deps) {
      const params = parseQuery(c, runsQuery);
      return c.json(await searchRuns(params, { runner: deps.runner, nowMs: deps.clock(), signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/runs/:date/:key',
    operationId: 'getRun',
    // Analyst: the stored files are the runs' raw output and may hold data a dashboard viewer should not read.
    role: 'analyst',
    summary: 'Every stored version of one run, newest first, with files, labels and metrics.',
    params: runDetailPath,
    query: z.object({}),
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'The run.', schema: runDetailResponse },
    async handle(c, deps) {
      parseQuery(c, z.object({}));
      const params = parsePath(c, runDetailPath);
      return c.json(await runDetail(params, { runner: deps.runner, signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/jobs',
    operationId: 'jobs',
    role: 'viewer',
    summary: 'Per job: runs, success rate, p95 duration, last run, trend against the previous period.',
    query: jobsQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'Jobs, most runs first.', schema: jobsResponse },
    async handle(c, deps) {
      const params = parseQuery(c, jobsQuery);
      return c.json(await jobs(params, { runner: deps.runner, nowMs: deps.clock(), ingestLagMs: deps.config.ingestLagMs, rollups: deps.rollups, signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/job-series',
    operationId: 'jobSeries',
    role: 'viewer',
    summary: 'One metric over time per job (runs, failures, p95 duration or a leaf average), column-oriented: sparklines and by-job charts.',
    query: jobSeriesQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'Column-oriented series, one per job.', schema: jobSeriesResponse },
    async handle(c, deps) {
      const params = parseQuery(c, jobSeriesQuery);
      return c.json(await jobSeries(params, { runner: deps.runner, nowMs: deps.clock(), ingestLagMs: deps.config.ingestLagMs, rollups: deps.rollups, signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/leaves',
    operationId: 'leaves',
    role: 'viewer',
    summary: 'The numeric leaves (file, path) of the result files in a window, with how many runs carry each.',
    query: leavesQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'Leaves, most runs first.', schema: leavesResponse },
    async handle(c, deps) {
      const params = parseQuery(c, leavesQuery);
      return c.json(await leaves(params, { runner: deps.runner, nowMs: deps.clock(), signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/ingest-errors',
    operationId: 'ingestErrors',
    role: 'viewer',
    summary: 'What could not be ingested in a window (invalid or half-written files, foreign messages), newest first.',
    query: ingestErrorsQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'Ingest errors and their total.', schema: ingestErrorsResponse },
    async handle(c, deps) {
      const params = parseQuery(c, ingestErrorsQuery);
      return c.json(await ingestErrors(params, { runner: deps.runner, nowMs: deps.clock(), signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/pipeline',
    operationId: 'pipeline',
    role: 'viewer',
    summary: 'Pipeline health: data complete up to, ingest lag, Kafka backlog, ingest errors in the window, local spool depth.',
    query: pipelineQuery,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'The figures of the pipeline-health strip.', schema: pipelineResponse },
    async handle(c, deps) {
      const params = parseQuery(c, pipelineQuery);
      return c.json(await pipeline(params, {
        runner: deps.runner,
        nowMs: deps.clock(),
        ingestLagMs: deps.config.ingestLagMs,
        kafka: deps.kafkaPositions,
        spoolDir: deps.config.spoolDir || undefined,
        rollups: deps.rollups,
        signal: signalOf(c),
      }));
    },
  },
  {
    method: 'POST',
    path: '/api/v1/sql',
    operationId: 'sql',
    role: 'analyst',
    summary: 'The SQL console: one read statement as the read-only `sql` ClickHouse user (its profile limits time, result rows and queries per minute); rate-limited per token.',
    body: sqlRequest,
    requires: 'sql',
    rateLimited: true,
    usesClickHouse: true,
    response: { contentType: 'application/json', description: 'Columns, the first rows (capped) and timing.', schema: sqlResponse },
    async handle(c, deps) {
      if (!deps.sqlClickhouse) return moduleMissing(c, 'sql');
      checkRate(c, deps.sqlLimiter, deps.clock());
      const body = await readJson(c, sqlRequest);
      return c.json(await runConsoleQuery(body.query, { clickhouse: deps.sqlClickhouse, maxRows: deps.config.sqlConsole.maxRows, signal: signalOf(c) }));
    },
  },
  {
    method: 'GET',
    path: '/api/v1/live',
    operationId: 'live',
    role: 'viewer',
    summary: 'Run changes as Server-Sent Events (ready, runs, heartbeat, cutoff, reload); filters job, host, status, key_prefix, label, from=<position>; see api/live/README.md.',
    requires: 'live',
    usesClickHouse: false,
    response: { contentType: 'text/event-stream', description: 'An SSE stream; every id is a resumable Kafka position.' },
    async handle(c, deps) {
      return deps.live ? deps.live.fetch(c.req.raw, c.env) : moduleMissing(c, 'live');
    },
  },
  {
    method: 'GET',
    path: '/api/v1/live/watermark',
    operationId: 'liveWatermark',
    role: 'viewer',
    summary: 'The sink watermark (every event before complete_until is in ClickHouse) and the live head, as positions.',
    requires: 'live',
    usesClickHouse: false,
    response: { contentType: 'application/json', description: '{complete_until, head}.' },
    async handle(c, deps) {
      return deps.live ? deps.live.fetch(c.req.raw, c.env) : moduleMissing(c, 'live');
    },
  },
  ...alertingRoute('GET', '/api/v1/alerts', 'alerts', 'viewer', 'Current alerts: pending, firing, error and recently resolved (?state=&rule=).'),
  ...alertingRoute('GET', '/api/v1/alerts/history', 'alertHistory', 'viewer', 'Alert transitions, newest first (?rule=&from=&to=&limit=; default the last 7 days).'),
  ...alertingRoute('GET', '/api/v1/alerts/rules', 'alertRules', 'viewer', 'Loaded rules (files and API) and rule-file problems.'),
  ...alertingRoute('PUT', '/api/v1/alerts/rules/:name', 'putAlertRule', 'admin', 'Create or replace an API rule (JSON body).'),
  ...alertingRoute('DELETE', '/api/v1/alerts/rules/:name', 'deleteAlertRule', 'admin', 'Delete an API rule.'),
  ...alertingRoute('GET', '/api/v1/alerts/silences', 'alertSilences', 'viewer', 'Active silences (files and API).'),
  ...alertingRoute('POST', '/api/v1/alerts/silences', 'createAlertSilence', 'analyst', 'Create a silence (JSON body).'),
  ...alertingRoute('DELETE', '/api/v1/alerts/silences/:id', 'expireAlertSilence', 'analyst', 'Expire a silence now.'),
  ...alertingRoute('GET', '/api/v1/alerts/deliveries', 'alertDeliveries', 'analyst', 'Notification delivery attempts, newest first (?rule=&dedupKey=&limit=).'),
  ...alertingRoute('GET', '/api/v1/alerts/status', 'alertingStatus', 'viewer', 'This instance: leader or not, rule files, delivery queue.'),
  {
    method: 'GET',
    path: '/api/v1/openapi.json',
    operationId: 'openapi',
    role: 'viewer',
    summary: 'This document.',
    usesClickHouse: false,
    response: { contentType: 'application/json', description: 'OpenAPI 3.1.' },
    async handle(c) {
      return c.json(buildOpenApi(ROUTES, API_VERSION));
    },
  },
  {
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    role: 'public',
    summary: 'Which dependency is down: 200 when ClickHouse answers as the API user, 503 otherwise.',
    usesClickHouse: false,
    response: { contentType: 'application/json', description: 'All needed dependencies are up (Kafka down only degrades).', schema: healthResponse, alsoStatus: 503, alsoDescription: 'ClickHouse is down or refuses the API user.' },
    async handle(c, deps) {
      const report = await checkHealth({ clickhouse: deps.clickhouse, kafkaCheck: deps.kafkaCheck });
      return c.json(report, report.status === 'unavailable' ? 503 : 200);
    },
  },
  {
    method: 'GET',
    path: '/livez',
    operationId: 'live',
    role: 'public',
    // A liveness probe restarts a process that no longer answers; one that asked ClickHouse
    // would restart every instance when ClickHouse is down, which no restart fixes.
    summary: 'This process answers (static, asks nothing): for liveness probes; /healthz is for readiness.',
    usesClickHouse: false,
    response: { contentType: 'application/json', description: 'Always { "status": "ok" }.', schema: livenessResponse },
    async handle(c) {
      return c.json({ status: 'ok' as const });
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    // Public like /healthz, for a Prometheus scraper on the same network: it holds route
    // names, counts and latencies, no data.
    role: 'public',
    summary: 'Prometheus metrics: requests and latency by route, ClickHouse query latency, registered gauges.',
    usesClickHouse: false,
    response: { contentType: 'text/plain; version=0.0.4', description: 'Prometheus text format.' },
    async handle(c, deps) {
      return c.body(deps.metrics.render(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    },
  },
];

/**
 * The alerting module's routes (api/alerting/routes.ts): listed here for their role and the
 * OpenAPI document, served by its sub-app, which checks the same role again with the same
 * tokens (the auth tests walk this table, so the two cannot disagree unnoticed).
 */
function alertingRoute(method: RouteSpec['method'], path: string, operationId: string, role: Role, summary: string): RouteSpec[] {
  return [{
    method,
    path,
    operationId,
    role,
    summary,
    requires: 'alerting',
    ...(method === 'PUT' || method === 'POST' ? { body: z.record(z.string(), z.unknown()) } : {}),
    usesClickHouse: true,
    successStatus: method === 'DELETE' ? 204 : method === 'POST' ? 201 : 200,
    response: { contentType: 'application/json', description: 'See api/alerting/routes.ts.' },
    async handle(c, deps) {
      return deps.alerts ? deps.alerts.fetch(c.req.raw, c.env) : moduleMissing(c, 'alerting');
    },
  }];
}

function moduleMissing(c: Context<ApiEnv>, module: RouteModule): Response {
  c.header('Retry-After', '60');
  return c.json({ error: { status: 503, message: `${module === 'sql' ? 'the SQL console' : module} is not enabled on this instance` } }, 503);
}

/** A JSON body validated like the query strings: the 400 names the field. */
async function readJson<S extends z.ZodType>(c: Context<ApiEnv>, schema: S): Promise<z.output<S>> {
  if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) throw new HTTPException(415, { message: 'the body must be application/json' });
  let input: unknown;
  try {
    input = await c.req.json();
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw badRequest(issue ? `body field '${issue.path.join('.') || '(body)'}': ${issue.message}` : 'invalid body');
}
