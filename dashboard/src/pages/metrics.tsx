// Metrics: any numeric leaf of the result files (discovered from the data), charted by
// job over the range, with the overall min / avg / max.
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart, PALETTE, seriesColor } from '../components/chart.tsx';
import { Panel, stateOf } from '../components/panel.tsx';
import { apiGet, type JobSeriesResponse, type LeavesResponse, type TimeseriesResponse } from '../lib/api.ts';
import { fmtCount } from '../lib/format.ts';
import { range, rangeParams, setCustom } from '../lib/range.ts';
import { param, setParams } from '../lib/router.ts';
import { aligned, column, times } from '../lib/series.ts';
import { useQuery } from '../lib/use-query.ts';

export function Metrics() {
  const r = range.value;
  const key = `${r.from}:${r.to}`;
  const leaves = useQuery(key, (signal) => apiGet<LeavesResponse>('/api/v1/leaves', { ...rangeParams(r), limit: 2000 }, signal));
  const chosen = param('leaf');
  const colon = chosen?.indexOf(':') ?? -1;
  const leaf = chosen && colon > 0 ? { file: chosen.slice(0, colon), path: chosen.slice(colon + 1) } : leaves.data?.leaves[0] ?? null;
  const filter = param('q') ?? '';
  const leafKey = leaf ? `${key}:${leaf.file}:${leaf.path}` : null;
  const byJob = useQuery(leafKey, (signal) => apiGet<JobSeriesResponse>('/api/v1/job-series', { ...rangeParams(r), metric: 'leaf', leaf_file: leaf!.file, leaf_path: leaf!.path, points: 300, jobs: 10 }, signal));
  const overall = useQuery(leafKey, (signal) => apiGet<TimeseriesResponse>('/api/v1/timeseries', { ...rangeParams(r), metric: 'leaf', leaf_file: leaf!.file, leaf_path: leaf!.path }, signal));

  const jobChart = useMemo(() => {
    if (!byJob.data) return null;
    const names = byJob.data.jobs.map((job) => job.job);
    return { names, data: aligned(times(byJob.data.t), ...names.map((name) => column(byJob.data!.series[name], byJob.data!.t.length))) };
  }, [byJob.data]);
  const overallChart = useMemo(() => {
    if (!overall.data) return null;
    const n = overall.data.t.length;
    return aligned(times(overall.data.t), column(overall.data.series['min'], n), column(overall.data.series['avg'], n), column(overall.data.series['max'], n));
  }, [overall.data]);
  const visibleLeaves = (leaves.data?.leaves ?? []).filter((item) => `${item.file}:${item.path}`.toLowerCase().includes(filter.toLowerCase()));
  const files = [...new Set(visibleLeaves.map((item) => item.file))];
  const axis = { size: 64, values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => fmtCount(tick)) };

  return (
    <div class="page metrics">
      <div class="metrics-layout">
        <Panel
          title={<>Leaves <span class="muted small">{leaves.data ? `${leaves.data.leaves.length}${leaves.data.truncated ? '+' : ''}` : ''}</span></>}
          state={stateOf(leaves, (leaves.data?.leaves.length ?? 0) === 0)}
          empty="No numeric leaves in this range."
          error={leaves.error}
          height="calc(100vh - 260px)"
          actions={<input type="search" class="search" placeholder="filter…" value={filter} onInput={(e) => setParams({ q: e.currentTarget.value }, { replace: true })} aria-label="filter leaves" data-search />}
          id="leaves"
          class="leaf-list"
        >
          <div class="scroll-y">
            {files.map((file) => (
              <div key={file} class="leaf-group">
                <div class="leaf-file mono">{file}</div>
                {visibleLeaves.filter((item) => item.file === file).map((item) => {
                  const active = leaf?.file === item.file && leaf.path === item.path;
                  return (
                    <button type="button" key={item.path} class={`leaf${active ? ' active' : ''}`} onClick={() => setParams({ leaf: `${item.file}:${item.path}` })}>
                      <span class="mono">{item.path}</span>
                      <span class="muted small">{fmtCount(item.runs)}</span>
                    </button>
                  );
                })}
              </div>
            ))}
          </div>
        </Panel>
        <div class="stack">
          <Panel title={<>{leaf ? <span class="mono">{leaf.file} · {leaf.path}</span> : 'Leaf'} <span class="muted small">average by job</span></>} state={leaf ? stateOf(byJob, (jobChart?.names.length ?? 0) === 0) : stateOf(leaves, true)} empty="Pick a leaf." error={byJob.error} height={300} loading={byJob.loading} id="chart-leaf-jobs">
            <Chart
              data={jobChart?.data ?? null}
              shape={`leaf-jobs:${jobChart?.names.join('|') ?? ''}`}
              height={260}
              xRange={[r.from, r.to]}
              onZoom={setCustom}
              syncKey="metrics"
              label="leaf by job"
              options={() => ({
                series: [{}, ...(jobChart?.names ?? []).map((name, index) => ({ label: name, stroke: seriesColor(index), width: 1.5, spanGaps: true, value: (_u: uPlot, v: number | null) => fmtCount(v) }))],
                axes: [{}, axis],
              })}
            />
          </Panel>
          <Panel title="All jobs: min / avg / max" state={leaf ? stateOf(overall, !overall.data?.series['count']?.some((value) => (value ?? 0) > 0)) : 'empty'} empty="Pick a leaf." error={overall.error} height={240} loading={overall.loading} id="chart-leaf-overall">
            <Chart
              data={overallChart}
              shape="leaf-overall"
              height={200}
              xRange={[r.from, r.to]}
              onZoom={setCustom}
              syncKey="metrics"
              label="leaf min avg max"
              options={() => ({
                series: [
                  {},
                  { label: 'min', stroke: PALETTE.succeeded, width: 1, dash: [4, 3], value: (_u: uPlot, v: number | null) => fmtCount(v) },
                  { label: 'avg', stroke: PALETTE.running, width: 2, value: (_u: uPlot, v: number | null) => fmtCount(v) },
                  { label: 'max', stroke: PALETTE.failed, width: 1, dash: [4, 3], value: (_u: uPlot, v: number | null) => fmtCount(v) },
                ],
                axes: [{}, axis],
              })}
            />
          </Panel>
        </div>
      </div>
    </div>
  );
}
