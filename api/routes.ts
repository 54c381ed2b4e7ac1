// The route table: every route with its method, path, role, parameter schemas and
// response schema. The app is built from it, the OpenAPI document is generated from it,
// and the auth tests walk it, so a route cannot exist without declaring its role.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Role } from './auth/tokens.ts';
import type { QueryRunner } from './clickhouse/query-runner.ts';
import type { ApiConfig } from './config.ts';
import { checkHealth, healthResponse } from './health.ts';
import type { ApiEnv } from './http/api-env.ts';
import { parsePath, parseQuery, type QuerySchema } from './http/validate.ts';
import type { MetricsRegistry } from './metrics/registry.ts';
import { buildOpenApi } from './openapi.ts';
import { breakdown, breakdownQuery, breakdownResponse } from './queries/breakdown.ts';
import { jobs, jobsQuery, jobsResponse } from './queries/jobs.ts';
import { runDetail, runDetailPath, runDetailResponse } from './queries/run-detail.ts';
import { runsQuery, runsResponse, searchRuns } from './queries/runs-search.ts';
import { timeseries, timeseriesQuery, timeseriesResponse, type TimeseriesSource } from './queries/timeseries.ts';

export const API_VERSION = '1.0.0';

export interface RouteDeps {
  clickhouse: ClickHouseClient;
  runner: QueryRunner;
  config: ApiConfig;
  clock: () => number;
  metrics: MetricsRegistry;
  timeseriesSources: readonly TimeseriesSource[];
  kafkaCheck?: (() => Promise<void>) | undefined;
}

export interface RouteSpec {
  method: 'GET';
  path: string;
  operationId: string;
  role: Role | 'public';
  summary: string;
  query?: QuerySchema;
  params?: QuerySchema;
  usesClickHouse: boolean;
  successStatus?: number;
  response: {
    contentType: 'application/json' | 'text/plain; version=0.0.4';
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
      return c.json(await breakdown(params, { runner: deps.runner, nowMs: deps.clock(), signal: signalOf(c) }));
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
      return c.json(await jobs(params, { runner: deps.runner, nowMs: deps.clock(), signal: signalOf(c) }));
    },
  },
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
