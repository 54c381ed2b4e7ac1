// Jobs: every job of the range with a sparkline of its runs, success rate, p95 duration,
// last run and the trend against the previous period; sortable and filterable. The chart
// on top shows the busiest jobs over time.
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart, seriesColor } from '../components/chart.tsx';
import { Panel, stateOf } from '../components/panel.tsx';
import { Sparkline } from '../components/sparkline.tsx';
import { apiGet, type JobSeriesResponse, type JobsResponse } from '../lib/api.ts';
import { fmtAgo, fmtCount, fmtDuration, fmtPct, fmtSigned } from '../lib/format.ts';
import { range, rangeParams, setCustom } from '../lib/range.ts';
import { navigate, param, setParams } from '../lib/router.ts';
import { aligned, column, times } from '../lib/series.ts';
import { useQuery } from '../lib/use-query.ts';

type Job = JobsResponse['jobs'][number];
const SORTS: Record<string, { label: string; value: (job: Job) => number | string; numeric: boolean }> = {
  job: { label: 'job', value: (job) => job.job, numeric: false },
  runs: { label: 'runs', value: (job) => job.runs, numeric: true },
  success: { label: 'success', value: (job) => job.success_rate ?? -1, numeric: true },
  p95: { label: 'p95', value: (job) => job.p95_duration_ms ?? -1, numeric: true },
  last: { label: 'last run', value: (job) => job.last_run_at_ms ?? 0, numeric: true },
  trend: { label: 'trend', value: (job) => job.trend.runs ?? -Infinity, numeric: true },
};
const TOP_LINES = 8;

export function Jobs() {
  const r = range.value;
  const key = `${r.from}:${r.to}`;
  const jobs = useQuery(key, (signal) => apiGet<JobsResponse>('/api/v1/jobs', { ...rangeParams(r), limit: 2000 }, signal));
  const sparks = useQuery(key, (signal) => apiGet<JobSeriesResponse>('/api/v1/job-series', { ...rangeParams(r), metric: 'runs', points: 48, jobs: 500 }, signal));
  const filter = param('q') ?? '';
  const sort = param('sort') ?? 'runs';
  const desc = (param('order') ?? (SORTS[sort]?.numeric === false ? 'asc' : 'desc')) === 'desc';

  const rows = useMemo(() => {
    if (!jobs.data) return [];
    const needle = filter.toLowerCase();
    const spec = SORTS[sort] ?? SORTS['runs']!;
    return jobs.data.jobs
      .filter((job) => job.job.toLowerCase().includes(needle))
      .sort((a, b) => {
        const x = spec.value(a);
        const y = spec.value(b);
        const order = x < y ? -1 : x > y ? 1 : 0;
        return desc ? -order : order;
      });
  }, [jobs.data, filter, sort, desc]);

  const chart = useMemo(() => {
    if (!sparks.data) return null;
    const top = sparks.data.jobs.slice(0, TOP_LINES);
    return { names: top.map((job) => job.job), data: aligned(times(sparks.data.t), ...top.map((job) => column(sparks.data!.series[job.job], sparks.data!.t.length))) };
  }, [sparks.data]);

  const header = (id: string) => {
    const active = sort === id;
    return (
      <button type="button" class={`th-sort${active ? ' active' : ''}`} onClick={() => setParams({ sort: id, order: active ? (desc ? 'asc' : 'desc') : undefined }, { replace: true })}>
        {SORTS[id]!.label}{active ? (desc ? ' ▾' : ' ▴') : ''}
      </button>
    );
  };

  return (
    <div class="page jobs">
      <Panel title={`Busiest ${TOP_LINES} jobs: runs per bucket`} state={stateOf(sparks, (chart?.names.length ?? 0) === 0)} error={sparks.error} height={240} loading={sparks.loading} id="chart-jobs">
        <Chart
          data={chart?.data ?? null}
          shape={`jobs:${chart?.names.join('|') ?? ''}`}
          height={200}
          xRange={[r.from, r.to]}
          onZoom={setCustom}
          label="runs of the busiest jobs"
          options={() => ({
            series: [{}, ...(chart?.names ?? []).map((name, index) => ({ label: name, stroke: seriesColor(index), width: 1.5, value: (_u: uPlot, v: number | null) => fmtCount(v) }))],
            axes: [{}, { size: 56, values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => fmtCount(tick)) }],
          })}
        />
      </Panel>
      <Panel
        title={<>Jobs <span class="muted small">{jobs.data ? `${rows.length} of ${jobs.data.jobs.length}${jobs.data.truncated ? '+' : ''}` : ''}</span></>}
        state={stateOf(jobs, rows.length === 0)}
        empty={filter ? 'No job matches the filter.' : 'No runs in this range.'}
        error={jobs.error}
        loading={jobs.loading}
        actions={<input type="search" class="search" placeholder="filter jobs…" value={filter} onInput={(e) => setParams({ q: e.currentTarget.value }, { replace: true })} aria-label="filter jobs" data-search />}
        id="jobs-table"
      >
        <div class="table-scroll">
          <table class="grid">
            <thead>
              <tr>
                <th>{header('job')}</th>
                <th>runs over time</th>
                <th class="num">{header('runs')}</th>
                <th class="num">{header('success')}</th>
                <th class="num">{header('p95')}</th>
                <th class="num">{header('last')}</th>
                <th class="num">{header('trend')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((job) => (
                <tr key={job.job} class="clickable" onClick={() => navigate('runs', { job: job.job })}>
                  <td class="mono">{job.job}</td>
                  <td><Sparkline values={sparks.data?.series[job.job] ?? []} /></td>
                  <td class="num">{fmtCount(job.runs)}</td>
                  <td class={`num ${job.success_rate !== null && job.success_rate < 0.9 ? 'bad-text' : ''}`}>{fmtPct(job.success_rate)}</td>
                  <td class="num">{fmtDuration(job.p95_duration_ms)}</td>
                  <td class="num">{fmtAgo(job.last_run_at_ms)}</td>
                  <td class="num">
                    <span class={trendClass(job.trend.runs)}>{fmtSigned(job.trend.runs, (v) => fmtPct(v, 0))}</span>
                    <span class={`muted small ${job.trend.success_rate !== null && job.trend.success_rate < -0.02 ? 'bad-text' : ''}`}> · {fmtSigned(job.trend.success_rate === null ? null : job.trend.success_rate * 100, (v) => `${v.toFixed(1)} pt`)}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Panel>
    </div>
  );
}

function trendClass(value: number | null): string {
  if (value === null) return 'muted';
  return value > 0.2 ? 'up' : value < -0.2 ? 'down' : '';
}
