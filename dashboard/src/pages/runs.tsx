// Runs: search by key prefix, job, status, host, label and range; the matching runs over
// time on top; a virtualized table that pages through any number of runs by cursor; the
// run drawer (`?run=`) opens on a click.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart, PALETTE, barsPath } from '../components/chart.tsx';
import { Panel, stateOf } from '../components/panel.tsx';
import { VirtualTable, type Column } from '../components/virtual-table.tsx';
import { apiGet, type RunSummary, type RunsResponse, type TimeseriesResponse } from '../lib/api.ts';
import { fmtCount, fmtDuration, fmtTime } from '../lib/format.ts';
import { range, rangeParams, setCustom } from '../lib/range.ts';
import { param, route, setParams } from '../lib/router.ts';
import { aligned, stackedRuns, STATUSES, times } from '../lib/series.ts';
import { useQuery } from '../lib/use-query.ts';

const PAGE = 500;
const FILTERS = ['key', 'job', 'status', 'host', 'label', 'sort', 'order'] as const;

export function Runs() {
  const r = range.value;
  const params = route.value.params;
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const apiFilters = { job: filters.job, status: filters.status, host: filters.host, label: filters.label || undefined };
  const key = JSON.stringify([r.from, r.to, filters]);

  const series = useQuery(JSON.stringify([r.from, r.to, apiFilters]), (signal) => apiGet<TimeseriesResponse>('/api/v1/timeseries', { ...rangeParams(r), metric: 'runs', ...apiFilters }, signal));
  const chart = useMemo(() => (series.data ? aligned(times(series.data.t), ...stackedRuns(series.data).stacked) : null), [series.data]);
  const total = series.data ? (series.data.series['total'] ?? []).reduce<number>((sum, value) => sum + (value ?? 0), 0) : null;

  const [rows, setRows] = useState<RunSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [firstLoaded, setFirstLoaded] = useState(false);
  const inFlight = useRef<AbortController | null>(null);
  const generation = useRef(0);

  const load = useCallback((after: string | null) => {
    const mine = generation.current;
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setLoading(true);
    apiGet<RunsResponse>('/api/v1/runs', {
      ...rangeParams(r), ...apiFilters, key_prefix: filters.key, sort: filters.sort || undefined, order: filters.order || undefined, limit: PAGE, cursor: after,
    }, controller.signal).then(
      (page) => {
        if (generation.current !== mine) return;
        setRows((previous) => (after === null ? page.runs : previous.concat(page.runs)));
        setCursor(page.next_cursor);
        setDone(page.next_cursor === null);
        setLoading(false);
        setError(null);
        setFirstLoaded(true);
      },
      (failure: Error) => {
        if (controller.signal.aborted || generation.current !== mine) return;
        setError(failure);
        setLoading(false);
        setFirstLoaded(true);
      },
    );
  }, [key]);

  useEffect(() => {
    generation.current++;
    setCursor(null);
    setDone(false);
    setFirstLoaded(false);
    load(null);
    return () => inFlight.current?.abort();
  }, [key]);

  const columns: Array<Column<RunSummary>> = [
    { key: 'status', label: 'status', width: '96px', render: (run) => <span class={`status ${run.status}`}>{run.status}</span> },
    { key: 'key', label: 'key', width: 'minmax(160px, 2fr)', render: (run) => <span class="mono ellipsis" title={run.key}>{run.key}</span> },
    { key: 'job', label: 'job', width: 'minmax(100px, 1fr)', render: (run) => <span class="ellipsis">{run.job}</span> },
    { key: 'host', label: 'host', width: 'minmax(80px, 1fr)', render: (run) => <span class="ellipsis">{run.host}</span> },
    { key: 'started', label: 'started', width: '150px', render: (run) => fmtTime(run.started_at_ms) },
    { key: 'duration', label: 'duration', width: '84px', align: 'right', render: (run) => fmtDuration(run.duration_ms) },
    { key: 'attempt', label: 'att.', width: '44px', align: 'right', render: (run) => run.attempt },
  ];
  const set = (name: string) => (event: Event) => setParams({ [name]: (event.currentTarget as HTMLInputElement).value }, { replace: true });

  return (
    <div class="page runs">
      <form class="filters" onSubmit={(event) => event.preventDefault()} role="search">
        <input type="search" class="search" placeholder="key prefix…  ( / )" value={filters.key} onInput={set('key')} aria-label="key prefix" data-search />
        <input type="text" placeholder="job" value={filters.job} onChange={set('job')} aria-label="job" />
        <select value={filters.status} onChange={set('status')} aria-label="status">
          <option value="">any status</option>
          {STATUSES.map((status) => <option key={status} value={status}>{status}</option>)}
        </select>
        <input type="text" placeholder="host" value={filters.host} onChange={set('host')} aria-label="host" />
        <input type="text" placeholder="label key:value" value={filters.label} onChange={set('label')} aria-label="label" />
        <select value={`${filters.sort || 'time'}:${filters.order || 'desc'}`} onChange={(event) => {
          const [sort, order] = event.currentTarget.value.split(':');
          setParams({ sort: sort === 'time' ? undefined : sort, order: order === 'desc' ? undefined : order }, { replace: true });
        }} aria-label="sort">
          <option value="time:desc">newest first</option>
          <option value="time:asc">oldest first</option>
          <option value="duration:desc">longest first</option>
          <option value="duration:asc">shortest first</option>
        </select>
        {FILTERS.some((name) => filters[name]) ? <button type="button" onClick={() => setParams(Object.fromEntries(FILTERS.map((name) => [name, undefined])))}>clear</button> : null}
      </form>
      <Panel title={<>{filters.key ? 'Runs over time for the other filters' : 'Matching runs over time'} <span class="muted small">{total !== null ? `· ${fmtCount(total)} runs` : ''}{filters.key ? ' · the key prefix filters the table' : ''}</span></>} state={stateOf(series, total === 0)} error={series.error} height={150} loading={series.loading} id="chart-runs-search">
        <Chart
          data={chart}
          shape="runs-search"
          height={120}
          xRange={[r.from, r.to]}
          onZoom={setCustom}
          label="matching runs over time"
          options={() => ({
            series: [{}, ...[...STATUSES].reverse().map((status) => ({ label: status, stroke: PALETTE[status], fill: PALETTE[status], paths: barsPath, points: { show: false } }))],
            axes: [{}, { size: 56, values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => fmtCount(tick)) }],
            legend: { show: false },
          })}
        />
      </Panel>
      <Panel
        title={<>Runs <span class="muted small">{fmtCount(rows.length)} loaded{done ? '' : ', more on scroll'}{filters.key && !/\*/.test(filters.key) ? ` · key starts with “${filters.key}”` : ''}</span></>}
        state={error && rows.length === 0 ? 'error' : !firstLoaded ? 'loading' : rows.length === 0 ? 'empty' : 'ready'}
        error={error}
        empty="No runs match."
        loading={loading}
        id="runs-table"
      >
        <VirtualTable
          rows={rows}
          columns={columns}
          height="max(360px, calc(100vh - 470px))"
          rowKey={(run) => `${run.run_date}/${run.key}`}
          selectedKey={param('run')}
          onRowClick={(run) => setParams({ run: `${run.run_date}/${run.key}` })}
          onNearEnd={() => {
            if (!loading && !done && cursor && !error) load(cursor);
          }}
          label="runs"
          footer={error && rows.length > 0 ? <div class="error-box">{error.message} <button type="button" onClick={() => load(cursor)}>retry</button></div> : null}
        />
      </Panel>
    </div>
  );
}
