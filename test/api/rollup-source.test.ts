// The API's answers from the rollups equal its answers from `runs FINAL`: generated runs
// over four days with reruns (another status, hour, host and label), running → final
// transitions and runs without a label, rollups rebuilt with the maintainer's own code;
// then two apps on the same database, one reading the rollups and one reading `runs`,
// asked the same questions — including ranges whose edges cut through days, hours and
// minutes. Counts must be equal; quantiles within a tolerance (merged TDigest states).
// Last, a year-long request is answered with the `runs` table renamed away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Api } from '../../api/app.ts';
import type { RollupSettings } from '../../api/queries/rollup-plan.ts';
import { breakdownResponse } from '../../api/queries/breakdown.ts';
import { jobSeriesResponse } from '../../api/queries/job-series.ts';
import { jobsResponse } from '../../api/queries/jobs.ts';
import { timeseriesResponse } from '../../api/queries/timeseries.ts';
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import type { RunEvent, RunStatus } from '../../ingest/event/run-event.ts';
import { rebuildRollups } from '../../ingest/rollup/rebuild.ts';
import { writeRollupState } from '../../ingest/rollup/rollup-state.ts';
import { pollUntil } from '../support/poll.ts';
import { createApiFixture, FIXED_NOW, query, runEvent, TOKENS, type ApiFixture } from './api-fixture.ts';

const LABEL_KEYS = ['region', 'tier'];
const SETTINGS: RollupSettings = { labelKeys: LABEL_KEYS, minuteRetentionDays: 0, dayTier: true };
const DAYS = ['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21'];
const PER_DAY = 1200;
/** Days in another month, so that a range holds a whole month (read from the month tier). */
const OCTOBER_DAYS = ['2026-10-01', '2026-10-31'];
const PER_OCTOBER_DAY = 300;
const STATUSES: RunStatus[] = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'timeout', 'cancelled', 'running'];
const JOBS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf'];
const MAX_DURATION_MS = 60_000;

let fx: ApiFixture;
let rollupApi: Api;
let closeRollupClient: () => Promise<void>;

function first(i: number, day: string): RunEvent {
  const started = Date.parse(`${day}T00:00:00Z`) + ((i * 7919) % 86_400) * 1000 + (i % 997);
  const status = STATUSES[(i * 31) % STATUSES.length]!;
  const duration = 100 + ((i * 613) % (MAX_DURATION_MS - 100));
  const labels: Record<string, string> = { region: ['eu', 'us', 'ap'][i % 3]! };
  if (i % 5 !== 0) labels['tier'] = ['gold', 'free'][i % 2]!;
  if (i % 7 === 0) labels['team'] = 'core'; // not rolled up
  return runEvent({
    run_date: day,
    key: `k-${day}-${i}`,
    job: JOBS[i % JOBS.length]!,
    host: `host-${i % 4}`,
    status,
    started_at_ms: started,
    finished_at_ms: status === 'running' ? null : started + duration,
    exit_code: status === 'running' ? null : status === 'succeeded' ? 0 : 1,
    labels,
    metrics: [{ file: 'result.json', path: 'rows', value: i % 1000 }, { file: 'result.json', path: 'timings_ms.fetch', value: (i * 7) % 500 }],
    written_at_ms: started + 1,
  });
}

/** A newer version of every 6th run: attempt 2, another status, host, tier and start hour (same run_date). */
function rerun(i: number, day: string): RunEvent {
  const base = first(i, day);
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  const started = dayStart + ((base.started_at_ms - dayStart + (1 + (i % 9)) * 3_600_000 + 123_456) % 86_400_000);
  const status: RunStatus = base.status === 'succeeded' ? 'failed' : 'succeeded';
  return {
    ...base,
    attempt: 2,
    status,
    host: `host-${(i + 1) % 4}`,
    labels: { ...base.labels, tier: 'silver' },
    started_at_ms: started,
    finished_at_ms: started + 2_000,
    exit_code: status === 'succeeded' ? 0 : 1,
    metrics: [{ file: 'result.json', path: 'rows', value: 5 }],
    written_at_ms: base.written_at_ms + 10,
  };
}

/** Every 10th running run finishes (same attempt, written later). */
function finish(i: number, day: string): RunEvent {
  const base = first(i, day);
  return { ...base, status: 'succeeded', finished_at_ms: base.started_at_ms + 777, exit_code: 0, written_at_ms: base.written_at_ms + 5 };
}

beforeAll(async () => {
  fx = await createApiFixture('api_rollups');
  const db = fx.pipeline.config.clickhouse.database;
  const firsts: RunEvent[] = [];
  const later: RunEvent[] = [];
  for (const day of [...DAYS, ...OCTOBER_DAYS]) {
    const perDay = DAYS.includes(day) ? PER_DAY : PER_OCTOBER_DAY;
    for (let i = 0; i < perDay; i++) {
      const run = first(i, day);
      // Every 50th October run starts the next day: on 2026-10-31 that is November, a
      // run_date month other than its bucket's month.
      if (!DAYS.includes(day) && i % 50 === 0) {
        run.started_at_ms += 86_400_000;
        if (run.finished_at_ms !== null) run.finished_at_ms += 86_400_000;
        run.written_at_ms += 86_400_000;
      }
      firsts.push(run);
      if (i % 6 === 0) later.push(rerun(i, day));
      else if (run.status === 'running' && i % 10 < 5) later.push(finish(i, day));
    }
  }
  const rebuild = () => rebuildRollups({
    clickhouse: fx.pipeline.admin,
    admin: fx.pipeline.admin,
    database: db,
    labelKeys: LABEL_KEYS,
    retention: { runs: 0, minute: 0, hour: 0, day: 0 },
    from: '2026-09-01',
    to: '2026-11-23',
    progress: () => {},
  });
  // Two generations in every tier: the rollups of the first versions, then, beside them
  // (unmerged), those of the reruns and finished runs, with zero rows for the keys the
  // later versions left (another status, host, tier or hour). Readers must see only the
  // newest generation of each key.
  await fx.send(firsts);
  await fx.waitForRuns(DAYS.length * PER_DAY + OCTOBER_DAYS.length * PER_OCTOBER_DAY);
  await rebuild();
  await fx.send(later);
  const newest = new Map([...firsts, ...later].map((run) => [`${run.run_date}/${run.key}`, run]));
  const expected = { reruns: later.filter((run) => run.attempt === 2).length, finished: [...newest.values()].filter((run) => run.status !== 'running').length };
  await pollUntil(
    () => fx.pipeline.query<{ reruns: number; finished: number }>(`SELECT countIf(attempt = 2) AS reruns, countIf(status != 'running') AS finished FROM ${db}.runs FINAL`),
    (rows) => Number(rows[0]?.reruns) === expected.reruns && Number(rows[0]?.finished) === expected.finished,
    { what: 'the later versions stored', timeoutMs: 30_000 },
  );
  await rebuild();
  await writeRollupState(fx.pipeline.admin, db, 'complete_until', Math.floor(FIXED_NOW / 1000) - 60);
  const client = createClickHouseClient({ url: fx.config.clickhouse.url, ...fx.pipeline.config.clickhouse.admin, database: db });
  closeRollupClient = () => client.close();
  rollupApi = createApp({ clickhouse: client, config: fx.config, clock: () => FIXED_NOW, log: () => {}, rollups: SETTINGS });
}, 240_000);

afterAll(async () => {
  await closeRollupClient?.();
  await fx?.close();
});

async function both(path: string): Promise<{ raw: any; rollup: any }> {
  const raw = await fx.get(path);
  const response = await rollupApi.app.request(path, { headers: { Authorization: `Bearer ${TOKENS.admin}` } });
  const rollup = { status: response.status, body: await response.json() };
  expect(raw.status, JSON.stringify(raw.body)).toBe(200);
  expect(rollup.status, JSON.stringify(rollup.body)).toBe(200);
  return { raw: raw.body, rollup: rollup.body };
}

const iso = (text: string) => String(Date.parse(text) / 1000);
const RANGES = {
  'four whole days': { from: iso('2026-11-18T00:00:00Z'), to: iso('2026-11-22T00:00:00Z') },
  'edges inside days, hours and minutes': { from: iso('2026-11-18T07:13:00Z'), to: iso('2026-11-21T16:47:00Z') },
  'across one midnight, under a day': { from: iso('2026-11-19T22:31:00Z'), to: iso('2026-11-20T01:09:00Z') },
  'a whole month with day, hour and minute edges': { from: iso('2026-09-20T05:13:00Z'), to: iso('2026-11-21T16:47:00Z') },
};

function closeQuantile(rollup: number | null, raw: number | null): void {
  if (raw === null) expect(rollup).toBeNull();
  else expect(Math.abs((rollup ?? Number.NaN) - raw)).toBeLessThanOrEqual(0.05 * MAX_DURATION_MS);
}

describe('timeseries from the rollups', () => {
  const cases: Array<[string, { from: string; to: string }, string]> = [
    ['four whole days', RANGES['four whole days'], '86400'],
    ['four whole days', RANGES['four whole days'], '3600'],
    ['four whole days', RANGES['four whole days'], 'auto'],
    ['edges inside days', RANGES['edges inside days, hours and minutes'], '600'],
    ['edges inside days', RANGES['edges inside days, hours and minutes'], '10800'],
    ['across midnight', RANGES['across one midnight, under a day'], '60'],
  ];
  for (const [name, range, step] of cases) {
    it(`counts by status equal runs FINAL (${name}, step ${step})`, async () => {
      const { raw, rollup } = await both(`/api/v1/timeseries?${query({ ...range, step, metric: 'runs' })}`);
      timeseriesResponse.parse(rollup);
      expect(raw.source).toBe('runs');
      expect(rollup.source).toBe('rollup');
      expect(rollup.t).toEqual(raw.t);
      expect(rollup.series).toEqual(raw.series);
      expect(raw.series.total.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThan(0);
    });
    it(`failure rate equals runs FINAL (${name}, step ${step})`, async () => {
      const { raw, rollup } = await both(`/api/v1/timeseries?${query({ ...range, step, metric: 'failure_rate' })}`);
      expect(rollup.source).toBe('rollup');
      expect(rollup.series).toEqual(raw.series);
    });
    it(`duration counts equal and percentiles are close (${name}, step ${step})`, async () => {
      const { raw, rollup } = await both(`/api/v1/timeseries?${query({ ...range, step, metric: 'duration' })}`);
      expect(rollup.source).toBe('rollup');
      expect(rollup.series.count).toEqual(raw.series.count);
      for (const name of ['p50', 'p95', 'p99']) raw.series[name].forEach((value: number | null, index: number) => closeQuantile(rollup.series[name][index], value));
    });
  }

  it('filters by one job, host or rolled-up label, with a status, equal runs FINAL', async () => {
    const range = RANGES['edges inside days, hours and minutes'];
    for (const filter of <Array<Record<string, string>>>[{ job: 'bravo' }, { host: 'host-2' }, { label: 'region:us' }, { label: 'tier:silver', status: 'failed' }, { job: 'alpha', status: 'running' }]) {
      const { raw, rollup } = await both(`/api/v1/timeseries?${query({ ...range, step: '3600', metric: 'runs', ...filter })}`);
      expect(rollup.source, JSON.stringify(filter)).toBe('rollup');
      expect(rollup.series, JSON.stringify(filter)).toEqual(raw.series);
    }
  });

  it('a leaf by job equals runs FINAL (sum, min, max, count exactly)', async () => {
    const range = RANGES['four whole days'];
    for (const filter of <Array<Record<string, string>>>[{}, { job: 'charlie' }]) {
      const { raw, rollup } = await both(`/api/v1/timeseries?${query({ ...range, step: '21600', metric: 'leaf', leaf_file: 'result.json', leaf_path: 'rows', ...filter })}`);
      expect(rollup.source).toBe('rollup');
      for (const name of ['sum', 'min', 'max', 'count']) expect(rollup.series[name]).toEqual(raw.series[name]);
      raw.series.avg.forEach((value: number | null, index: number) => expect(rollup.series.avg[index]).toBeCloseTo(value ?? 0, 6));
    }
  });

  it('what the rollups do not hold is answered by runs: two dimensions, a label not rolled up, a leaf by host', async () => {
    const range = RANGES['four whole days'];
    for (const extra of <Array<Record<string, string>>>[{ job: 'alpha', host: 'host-1', metric: 'runs' }, { label: 'team:core', metric: 'runs' }, { host: 'host-1', metric: 'leaf', leaf_file: 'result.json', leaf_path: 'rows' }]) {
      const { raw, rollup } = await both(`/api/v1/timeseries?${query({ ...range, step: '3600', ...extra })}`);
      expect(rollup.source).toBe('runs');
      expect(rollup.series).toEqual(raw.series);
    }
  });

  it('complete_until follows the rollup watermark minus the ingest lag, rounded down to the step', async () => {
    const { raw, rollup } = await both(`/api/v1/timeseries?${query({ from: iso('2026-11-21T00:00:00Z'), to: iso('2026-11-22T00:00:00Z'), step: '60' })}`);
    const watermark = FIXED_NOW / 1000 - 60;
    const lag = fx.config.ingestLagMs / 1000;
    expect(rollup.complete_until).toBe(Math.floor((watermark - lag) / 60) * 60);
    expect(raw.complete_until).toBe(Math.floor((FIXED_NOW / 1000 - lag) / 60) * 60);
  });
});

describe('jobs, breakdown and job-series from the rollups', () => {
  for (const [name, range] of Object.entries(RANGES)) {
    it(`jobs: counts equal runs FINAL, p95 close, last run within its bucket (${name})`, async () => {
      const { raw, rollup } = await both(`/api/v1/jobs?${query(range)}`);
      jobsResponse.parse(rollup);
      expect(rollup.source).toBe('rollup');
      expect([rollup.from, rollup.to, rollup.previous_from]).toEqual([raw.from, raw.to, raw.previous_from]);
      expect(rollup.jobs.map((job: any) => job.job)).toEqual(raw.jobs.map((job: any) => job.job));
      raw.jobs.forEach((expected: any, index: number) => {
        const got = rollup.jobs[index];
        for (const period of [(row: any) => row, (row: any) => row.previous]) {
          const [a, b] = [period(got), period(expected)];
          expect([a.runs, a.succeeded, a.failures, a.finished, a.success_rate]).toEqual([b.runs, b.succeeded, b.failures, b.finished, b.success_rate]);
          closeQuantile(a.p95_duration_ms, b.p95_duration_ms);
        }
        expect(got.last_run_at_ms).toBeLessThanOrEqual(expected.last_run_at_ms);
        expect(got.last_run_at_ms).toBeGreaterThan(expected.last_run_at_ms - 86_400_000);
      });
    });

    it(`breakdown by job, host, status and label equals runs FINAL (${name})`, async () => {
      for (const params of <Array<Record<string, string>>>[{ by: 'job' }, { by: 'host' }, { by: 'status' }, { by: 'label:region' }, { by: 'label:tier' }, { by: 'status', job: 'delta' }, { by: 'job', status: 'failed' }, { by: 'host', host: 'host-3' }, { by: 'status', label: 'region:ap' }]) {
        const { raw, rollup } = await both(`/api/v1/breakdown?${query({ ...range, ...params, limit: 50 })}`);
        breakdownResponse.parse(rollup);
        expect(rollup.source, JSON.stringify(params)).toBe('rollup');
        expect(rollup.rows, JSON.stringify(params)).toEqual(raw.rows);
        expect(rollup.truncated).toBe(raw.truncated);
      }
    });
  }

  it('edges older than the minute tier keeps are widened to whole hours, and the counts equal runs FINAL over that window', async () => {
    // Two months later, with minutes kept 10 days: November's minutes are gone as far as this API knows.
    const client = createClickHouseClient({ url: fx.config.clickhouse.url, ...fx.pipeline.config.clickhouse.admin, database: fx.pipeline.config.clickhouse.database });
    const later = createApp({ clickhouse: client, config: fx.config, clock: () => Date.parse('2027-01-15T00:00:00Z'), log: () => {}, rollups: { ...SETTINGS, minuteRetentionDays: 10 } });
    try {
      const asked = RANGES['edges inside days, hours and minutes'];
      const widened = { from: iso('2026-11-18T07:00:00Z'), to: iso('2026-11-21T17:00:00Z') };
      for (const by of ['job', 'status', 'label:region']) {
        const response = await later.app.request(`/api/v1/breakdown?${query({ ...asked, by, limit: 50 })}`, { headers: { Authorization: `Bearer ${TOKENS.admin}` } });
        const rollup = await response.json();
        expect(response.status, JSON.stringify(rollup)).toBe(200);
        expect(rollup.source).toBe('rollup');
        expect([String(rollup.from), String(rollup.to)]).toEqual([widened.from, widened.to]);
        const raw = await fx.get(`/api/v1/breakdown?${query({ ...widened, by, limit: 50 })}`);
        expect(rollup.rows, by).toEqual(raw.body.rows);
      }
      const jobs = await (await later.app.request(`/api/v1/jobs?${query(asked)}`, { headers: { Authorization: `Bearer ${TOKENS.admin}` } })).json();
      expect(jobs.source).toBe('rollup');
      expect([String(jobs.from), String(jobs.to)]).toEqual([widened.from, widened.to]);
      expect(jobs.previous_from % 3600).toBe(0);
      // A timeseries over those days: the auto step is whole hours (the hour tier), not minutes from runs.
      const series = await (await later.app.request(`/api/v1/timeseries?${query({ ...asked, metric: 'runs' })}`, { headers: { Authorization: `Bearer ${TOKENS.admin}` } })).json();
      expect([series.source, series.step]).toEqual(['rollup', 3600]);
      const rawSeries = await fx.get(`/api/v1/timeseries?${query({ ...asked, metric: 'runs', step: '3600' })}`);
      expect(series.series).toEqual(rawSeries.body.series);
      // Under a day, minutes stay minutes (runs answers a few hours quickly).
      const short = await (await later.app.request(`/api/v1/timeseries?${query({ from: iso('2026-11-19T10:00:00Z'), to: iso('2026-11-19T14:00:00Z'), metric: 'runs' })}`, { headers: { Authorization: `Bearer ${TOKENS.admin}` } })).json();
      expect([short.source, short.step]).toEqual(['runs', 60]);
    } finally {
      await client.close();
    }
  });

  it('breakdown by error_type or by job under a host filter is answered by runs', async () => {
    for (const params of <Array<Record<string, string>>>[{ by: 'error_type' }, { by: 'job', host: 'host-1' }, { by: 'label:team' }]) {
      const { raw, rollup } = await both(`/api/v1/breakdown?${query({ ...RANGES['four whole days'], ...params })}`);
      expect(rollup.source).toBe('runs');
      expect(rollup.rows).toEqual(raw.rows);
    }
  });

  it('job-series: runs and failures equal runs FINAL, p95 close', async () => {
    const range = RANGES['edges inside days, hours and minutes'];
    for (const metric of ['runs', 'failures', 'duration_p95']) {
      const { raw, rollup } = await both(`/api/v1/job-series?${query({ ...range, metric, points: 100, jobs: 5 })}`);
      jobSeriesResponse.parse(rollup);
      expect(rollup.source).toBe('rollup');
      expect(rollup.jobs).toEqual(raw.jobs);
      expect(rollup.t).toEqual(raw.t);
      if (metric === 'duration_p95') {
        for (const job of Object.keys(raw.series)) raw.series[job].forEach((value: number | null, index: number) => closeQuantile(rollup.series[job][index], value));
      } else {
        expect(rollup.series).toEqual(raw.series);
      }
    }
  });
});

describe('the rollups alone', () => {
  it('a 1-year request is answered without the runs table', async () => {
    const db = fx.pipeline.config.clickhouse.database;
    // Edges on whole minutes inside hours: the year is day rows plus hour and minute edges.
    const year = { from: String(FIXED_NOW / 1000 - 365 * 86_400 + 1260), to: String(FIXED_NOW / 1000 - 1020) };
    const before = await Promise.all([`/api/v1/timeseries?${query({ ...year, metric: 'runs' })}`, `/api/v1/jobs?${query(year)}`].map((path) => fx.get(path)));
    await fx.pipeline.admin.command({ query: `RENAME TABLE ${db}.runs TO ${db}.runs_renamed_away` });
    try {
      for (const path of [
        `/api/v1/timeseries?${query({ ...year, metric: 'runs' })}`,
        `/api/v1/timeseries?${query({ ...year, metric: 'duration', step: '86400' })}`,
        `/api/v1/timeseries?${query({ ...year, metric: 'failure_rate', job: 'echo' })}`,
        `/api/v1/jobs?${query(year)}`,
        `/api/v1/breakdown?${query({ ...year, by: 'host' })}`,
        `/api/v1/job-series?${query({ ...year, metric: 'runs' })}`,
      ]) {
        const response = await rollupApi.app.request(path, { headers: { Authorization: `Bearer ${TOKENS.admin}` } });
        const body = await response.json();
        expect(response.status, `${path}: ${JSON.stringify(body).slice(0, 300)}`).toBe(200);
        expect(body.source, path).toBe('rollup');
      }
      const after = await (await rollupApi.app.request(`/api/v1/jobs?${query(year)}`, { headers: { Authorization: `Bearer ${TOKENS.admin}` } })).json();
      expect(after.jobs.map((job: any) => [job.job, job.runs])).toEqual(before[1]!.body.jobs.map((job: any) => [job.job, job.runs]));
      const series = await (await rollupApi.app.request(`/api/v1/timeseries?${query({ ...year, metric: 'runs' })}`, { headers: { Authorization: `Bearer ${TOKENS.admin}` } })).json();
      expect(series.series).toEqual(before[0]!.body.series);
    } finally {
      await fx.pipeline.admin.command({ query: `RENAME TABLE ${db}.runs_renamed_away TO ${db}.runs` });
    }
  });

  it('without a watermark (no maintainer ever ran) every answer comes from runs', async () => {
    const db = fx.pipeline.config.clickhouse.database;
    const client = createClickHouseClient({ url: fx.config.clickhouse.url, ...fx.pipeline.config.clickhouse.admin, database: db });
    try {
      await fx.pipeline.admin.command({ query: `CREATE TABLE ${db}.rollup_state_saved AS ${db}.rollup_state` });
      await fx.pipeline.admin.command({ query: `INSERT INTO ${db}.rollup_state_saved SELECT * FROM ${db}.rollup_state` });
      await fx.pipeline.admin.command({ query: `TRUNCATE TABLE ${db}.rollup_state` });
      const app = createApp({ clickhouse: client, config: fx.config, clock: () => FIXED_NOW, log: () => {}, rollups: SETTINGS });
      const response = await app.app.request(`/api/v1/timeseries?${query(RANGES['four whole days'])}`, { headers: { Authorization: `Bearer ${TOKENS.admin}` } });
      expect((await response.json()).source).toBe('runs');
    } finally {
      await fx.pipeline.admin.command({ query: `INSERT INTO ${db}.rollup_state SELECT * FROM ${db}.rollup_state_saved` });
      await client.close();
    }
  });
});
