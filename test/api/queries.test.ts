// Every endpoint against known data: the shared sample runs plus generated runs whose
// counts, durations and leaves are known by construction. Responses are also parsed with
// the schemas the OpenAPI document is generated from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakdownResponse } from '../../api/queries/breakdown.ts';
import { jobsResponse } from '../../api/queries/jobs.ts';
import { runDetailResponse } from '../../api/queries/run-detail.ts';
import { runsResponse } from '../../api/queries/runs-search.ts';
import { timeseriesResponse } from '../../api/queries/timeseries.ts';
import type { RunEvent } from '../../ingest/event/run-event.ts';
import { pollUntil } from '../support/poll.ts';
import { buildTreeEvents, samplesRoot } from '../support/sample-events.ts';
import { createApiFixture, query, runEvent, type ApiFixture } from './api-fixture.ts';

let fx: ApiFixture;

const GEN_DAY = '2026-10-01';
const GEN_START = Date.parse(`${GEN_DAY}T00:00:00Z`);
const PREV_START = Date.parse('2026-09-30T00:00:00Z');

/** 100 runs, one a minute from midnight: i%10=0 failed, i%10=1 timeout, else succeeded; duration (i+1)×100 ms. */
function generated(i: number): RunEvent {
  const status = i % 10 === 0 ? 'failed' : i % 10 === 1 ? 'timeout' : 'succeeded';
  const started = GEN_START + i * 60_000;
  return runEvent({
    run_date: GEN_DAY,
    key: `gen-${String(i).padStart(3, '0')}`,
    job: i % 2 === 0 ? 'gen-job-a' : 'gen-job-b',
    host: `gen-host-${i % 3}`,
    status,
    started_at_ms: started,
    finished_at_ms: started + (i + 1) * 100,
    exit_code: status === 'succeeded' ? 0 : 1,
    labels: { shard: String(i % 4) },
    error_type: status === 'failed' ? 'Boom' : status === 'timeout' ? 'Timeout' : '',
    metrics: [{ file: 'result.json', path: 'rows', value: i }, { file: 'other.json', path: 'rows', value: 1000 }],
  });
}

/** The day before: 50 runs of gen-job-a, all succeeded — the previous period for /jobs. */
function previous(i: number): RunEvent {
  const started = PREV_START + i * 60_000;
  return runEvent({ run_date: '2026-09-30', key: `prev-${i}`, job: 'gen-job-a', started_at_ms: started, finished_at_ms: started + 1000 });
}

const RETRY_DAY = '2026-10-05';
const retryBase = runEvent({ run_date: RETRY_DAY, key: 'retry-001', job: 'retry-job', started_at_ms: Date.parse(`${RETRY_DAY}T08:00:00Z`) });

beforeAll(async () => {
  fx = await createApiFixture('api_queries');
  // Keep every stored version visible to the detail endpoint: no background merge may fold them.
  await fx.pipeline.admin.command({ query: `SYSTEM STOP MERGES ${fx.pipeline.config.clickhouse.database}.runs` });
  const samples = buildTreeEvents(samplesRoot).flatMap(({ outcome }) => (outcome.ok ? [outcome.event] : []));
  await fx.send([...samples, ...Array.from({ length: 100 }, (_, i) => generated(i)), ...Array.from({ length: 50 }, (_, i) => previous(i))]);
  // Three versions of one run, in separate batches so they are separate rows.
  await fx.send([{ ...retryBase, status: 'running', finished_at_ms: null, exit_code: null, written_at_ms: retryBase.started_at_ms + 10 }]);
  await fx.waitForRuns(6 + 100 + 50 + 1);
  await fx.send([{ ...retryBase, status: 'failed', exit_code: 2, error_type: 'Crash', written_at_ms: retryBase.started_at_ms + 20 }]);
  await fx.send([{ ...retryBase, attempt: 2, status: 'succeeded', written_at_ms: retryBase.started_at_ms + 30, files: [{ name: 'run.json', content: '{"ok":true}', size: 11, truncated: false }] }]);
  await pollUntil(
    () => fx.pipeline.query<{ n: number }>(`SELECT count() AS n FROM ${fx.pipeline.config.clickhouse.database}.runs WHERE key = 'retry-001'`),
    (rows) => rows[0]?.n === 3,
    { what: 'three versions of retry-001' },
  );
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

const genDay = { from: GEN_DAY, to: '2026-10-02' };

describe('GET /api/v1/timeseries', () => {
  it('counts runs by status per hour', async () => {
    const { status, body } = await fx.get(`/api/v1/timeseries?${query({ ...genDay, step: 3600 })}`);
    expect(status).toBe(200);
    const data = timeseriesResponse.parse(body);
    expect(data.step).toBe(3600);
    expect(data.t).toHaveLength(24);
    expect(data.t[0]).toBe(GEN_START / 1000);
    expect(data.series.total!.slice(0, 3)).toEqual([60, 40, 0]);
    expect(data.series.failed!.slice(0, 2)).toEqual([6, 4]);
    expect(data.series.timeout!.slice(0, 2)).toEqual([6, 4]);
    expect(data.series.succeeded!.slice(0, 2)).toEqual([48, 32]);
    expect(data.series.running!.every((value) => value === 0)).toBe(true);
    // The whole range is in the past of the fixed clock.
    expect(data.complete_until).toBe(GEN_START / 1000 + 86_400);
  });

  it('picks a step that keeps a chart under 1,500 points', async () => {
    const day = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query(genDay)}`)).body);
    expect(day.step).toBe(60);
    expect(day.t).toHaveLength(1440);
    const year = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ from: '2026-01-01', to: '2027-01-01' })}`)).body);
    expect(year.t.length).toBeLessThanOrEqual(1500);
    // More than 1,500 points at 1 h: whole days, so the day tier answers.
    expect(year.step).toBe(86_400);
    expect(year.t).toHaveLength(365);
  });

  it('reads the sample runs by status, host and label', async () => {
    const day = { from: '2026-11-21', to: '2026-11-22', step: 3600 };
    const all = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query(day)}`)).body);
    expect(all.series.total![6]).toBe(1); // report.daily at 06:00
    expect(all.series.failed![9]).toBe(1); // acct-000117 at 09:15
    expect(all.series.running![9]).toBe(1); // feed-eu-0042: 10:41+01:00 = 09:41Z
    expect(all.series.timeout![10]).toBe(1); // feed-eu-0043 at 10:41
    const eu = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ ...day, label: 'region:eu-central' })}`)).body);
    expect(eu.series.total!.reduce((a, b) => a! + b!, 0)).toBe(2);
    const worker = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ ...day, host: 'worker-02', status: 'timeout' })}`)).body);
    expect(worker.series.total!.reduce((a, b) => a! + b!, 0)).toBe(1);
  });

  it('gives the failure rate of finished runs', async () => {
    const data = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ ...genDay, step: 3600, metric: 'failure_rate' })}`)).body);
    expect(data.series.failures!.slice(0, 2)).toEqual([12, 8]);
    expect(data.series.finished!.slice(0, 2)).toEqual([60, 40]);
    expect(data.series.failure_rate![0]).toBeCloseTo(0.2);
    expect(data.series.failure_rate![2]).toBeNull();
  });

  it('gives duration percentiles; with one run a bucket they are that run', async () => {
    const data = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ ...genDay, step: 60, metric: 'duration' })}`)).body);
    expect(data.series.p50!.slice(0, 3)).toEqual([100, 200, 300]);
    expect(data.series.p99![99]).toBe(10_000);
    expect(data.series.count![99]).toBe(1);
    expect(data.series.p95![100]).toBeNull();
  });

  it('aggregates a numeric leaf of one file only', async () => {
    const data = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ ...genDay, step: 3600, metric: 'leaf', leaf_file: 'result.json', leaf_path: 'rows' })}`)).body);
    expect(data.series.sum!.slice(0, 3)).toEqual([1770, 3180, null]); // 0..59, 60..99
    expect(data.series.avg![0]).toBeCloseTo(29.5);
    expect(data.series.min![1]).toBe(60);
    expect(data.series.max![1]).toBe(99);
    expect(data.series.count!.slice(0, 2)).toEqual([60, 40]);
    const samples = timeseriesResponse.parse((await fx.get(`/api/v1/timeseries?${query({ from: '2026-11-20', to: '2026-11-22', step: 86_400, metric: 'leaf', leaf_file: 'result.json', leaf_path: 'timings_ms.fetch' })}`)).body);
    expect(samples.series.sum![0]).toBeCloseTo(812.4 + 1210);
    expect(samples.series.sum![1]).toBeCloseTo(30001.9);
  });
});

describe('GET /api/v1/breakdown', () => {
  it('ranks jobs, hosts, statuses, error types and label values with failures', async () => {
    const get = async (by: string, extra: Record<string, string> = {}) =>
      breakdownResponse.parse((await fx.get(`/api/v1/breakdown?${query({ ...genDay, by, ...extra })}`)).body);
    expect((await get('job')).rows).toEqual([
      { value: 'gen-job-a', runs: 50, failures: 10, finished: 50, failure_rate: 0.2 },
      { value: 'gen-job-b', runs: 50, failures: 10, finished: 50, failure_rate: 0.2 },
    ]);
    expect((await get('host')).rows.map((row) => [row.value, row.runs])).toEqual([['gen-host-0', 34], ['gen-host-1', 33], ['gen-host-2', 33]]);
    expect((await get('status')).rows.map((row) => [row.value, row.runs])).toEqual([['succeeded', 80], ['failed', 10], ['timeout', 10]]);
    expect((await get('error_type')).rows.map((row) => [row.value, row.failures])).toEqual([['', 0], ['Boom', 10], ['Timeout', 10]]);
    expect((await get('label:shard')).rows.map((row) => [row.value, row.runs])).toEqual([['0', 25], ['1', 25], ['2', 25], ['3', 25]]);
    const limited = await get('host', { limit: '2' });
    expect(limited.rows).toHaveLength(2);
    expect(limited.truncated).toBe(true);
  });

  it('breaks the samples down by a label only runs carrying it', async () => {
    const data = breakdownResponse.parse((await fx.get(`/api/v1/breakdown?${query({ from: '2026-11-20', to: '2026-11-22', by: 'label:region' })}`)).body);
    expect(data.rows.map((row) => [row.value, row.runs, row.failures])).toEqual([['eu-central', 2, 1], ['eu-west', 2, 1], ['us-east', 1, 0]]);
  });
});

describe('GET /api/v1/jobs', () => {
  it('gives runs, success rate, p95, last run and the trend against the day before', async () => {
    const data = jobsResponse.parse((await fx.get(`/api/v1/jobs?${query(genDay)}`)).body);
    expect(data.previous_from).toBe(PREV_START / 1000);
    const [a, b] = data.jobs;
    expect(a).toMatchObject({ job: 'gen-job-a', runs: 50, succeeded: 40, failures: 10, finished: 50, success_rate: 0.8, last_run_at_ms: GEN_START + 98 * 60_000 });
    expect(a!.previous).toMatchObject({ runs: 50, succeeded: 50, success_rate: 1, p95_duration_ms: 1000 });
    expect(a!.trend.runs).toBe(0);
    expect(a!.trend.success_rate).toBeCloseTo(-0.2);
    // Durations of gen-job-a: 100, 300, …, 9900 ms.
    expect(a!.p95_duration_ms).toBeGreaterThan(9000);
    expect(a!.p95_duration_ms).toBeLessThanOrEqual(9900);
    expect(b).toMatchObject({ job: 'gen-job-b', runs: 50, failures: 10, previous: { runs: 0, success_rate: null, p95_duration_ms: null }, trend: { runs: null, success_rate: null } });
  });
});

describe('GET /api/v1/runs', () => {
  it('finds runs by key prefix and filters, newest first', async () => {
    const data = runsResponse.parse((await fx.get(`/api/v1/runs?${query({ ...genDay, key_prefix: 'gen-00', limit: 100 })}`)).body);
    expect(data.runs.map((run) => run.key)).toEqual(Array.from({ length: 10 }, (_, i) => `gen-00${9 - i}`));
    expect(data.next_cursor).toBeNull();
    expect(data.runs[0]).toMatchObject({ run_date: GEN_DAY, job: 'gen-job-b', host: 'gen-host-0', status: 'succeeded', duration_ms: 1000, labels: { shard: '1' } });
    const failed = runsResponse.parse((await fx.get(`/api/v1/runs?${query({ ...genDay, status: 'failed', job: 'gen-job-a', label: 'shard:0', limit: 100 })}`)).body);
    expect(failed.runs.map((run) => run.key)).toEqual(['gen-080', 'gen-060', 'gen-040', 'gen-020', 'gen-000']);
  });

  it('sorts by duration, longest first, running runs last', async () => {
    const data = runsResponse.parse((await fx.get(`/api/v1/runs?${query({ ...genDay, sort: 'duration', limit: 3 })}`)).body);
    expect(data.runs.map((run) => [run.key, run.duration_ms])).toEqual([['gen-099', 10_000], ['gen-098', 9900], ['gen-097', 9800]]);
    const samples = runsResponse.parse((await fx.get(`/api/v1/runs?${query({ from: '2026-11-21', to: '2026-11-22', sort: 'duration' })}`)).body);
    expect(samples.runs.map((run) => run.key)).toEqual(['feed-eu-0043', 'report.daily.2026-11-21', 'acct-000117.invoice-sync', 'feed-eu-0042']);
    expect(samples.runs[3]).toMatchObject({ status: 'running', duration_ms: null, finished_at_ms: null });
  });
});

describe('GET /api/v1/runs/:date/:key', () => {
  it('returns every stored version newest first, with files, labels and metrics', async () => {
    const { status, body } = await fx.get(`/api/v1/runs/${RETRY_DAY}/retry-001`, 'analyst');
    expect(status).toBe(200);
    const data = runDetailResponse.parse(body);
    expect(data.versions.map((version) => [version.attempt, version.status])).toEqual([[2, 'succeeded'], [1, 'failed'], [1, 'running']]);
    expect(data.versions[0]!.files).toEqual([{ name: 'run.json', content: '{"ok":true}', truncated: false, size: 11 }]);
    expect(data.versions[1]!.error_type).toBe('Crash');
    expect(BigInt(data.versions[0]!.version)).toBe(2n * 10_000_000_000_000n + BigInt(retryBase.started_at_ms + 30));
  });

  it('returns a sample run with its files and numeric leaves', async () => {
    const data = runDetailResponse.parse((await fx.get('/api/v1/runs/2026-11-21/acct-000117.invoice-sync')).body);
    const [version] = data.versions;
    expect(version).toMatchObject({ job: 'invoice-sync', host: 'worker-11', status: 'failed', error_type: 'UpstreamTimeout', labels: { region: 'eu-west', tier: 'gold' } });
    expect(version!.files.map((file) => file.name).sort()).toEqual(['result.json', 'run.json']);
    expect(version!.files.find((file) => file.name === 'run.json')!.content).toContain('"worker-11"');
    expect(version!.metrics).toContainEqual({ file: 'result.json', path: 'timings_ms.fetch', value: 30001.9 });
  });

  it('is 404 for a run that does not exist, 400 for a malformed date or key', async () => {
    expect((await fx.get('/api/v1/runs/2026-11-21/no-such-run')).status).toBe(404);
    const badDate = await fx.get('/api/v1/runs/2026-02-30/acct-000117.invoice-sync');
    expect(badDate.status).toBe(400);
    expect(badDate.body.error.message).toMatch(/^parameter 'date'/);
    const badKey = await fx.get(`/api/v1/runs/2026-11-21/${encodeURIComponent("x' OR 1=1 --")}`);
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.message).toMatch(/^parameter 'key'/);
  });
});

describe('the request log and metrics', () => {
  it('writes one JSON line per request and counts requests by route', async () => {
    const before = fx.logs.length;
    await fx.get(`/api/v1/jobs?${query(genDay)}`);
    const lines = fx.logs.slice(before).map((line) => JSON.parse(line));
    expect(lines).toEqual([expect.objectContaining({ msg: 'request', route: '/api/v1/jobs', status: 200, role: 'admin' })]);
    const metrics = await fx.get('/metrics', null);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/runlens_api_requests_total\{method="GET",route="\/api\/v1\/jobs",status="200"\} \d+/);
    expect(metrics.body).toMatch(/runlens_api_clickhouse_query_duration_seconds_count\{outcome="ok",query="jobs"\} \d+/);
  });
});
