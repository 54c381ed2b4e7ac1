// Overview: runs by status, failure rate, duration percentiles and the failing jobs over
// the range, the previous period as an overlay, live updates from the SSE hub. Drag on a
// chart to zoom (a finer step is fetched), click a bar or point to open its runs.
import { batch, signal } from '@preact/signals';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { openLiveStream, type LiveRun } from '../../live/index.ts';
import { Chart, PALETTE, barsPath } from '../components/chart.tsx';
import { Panel, stateOf } from '../components/panel.tsx';
import { apiGet, authHeaders, type BreakdownResponse, type TimeseriesResponse } from '../lib/api.ts';
import { fmtCount, fmtDuration, fmtPct, fmtTime } from '../lib/format.ts';
import { range, rangeParams, refreshClock, setCustom, type Range } from '../lib/range.ts';
import { navigate } from '../lib/router.ts';
import { aligned, column, shiftedTotals, stackedRuns, STATUSES, times, type Status } from '../lib/series.ts';
import { useQuery } from '../lib/use-query.ts';

export type LiveStatus = 'off' | 'connecting' | 'live' | 'waiting' | 'unavailable' | 'paused' | 'stopped';
export const liveStatus = signal<LiveStatus>('off');
/** What the server said when live is unavailable (shown as the badge's tooltip). */
const liveDetail = signal('');
export const livePaused = signal(false);
/** Runs received live since the page opened: a number bound straight into the JSX. */
const liveRuns = signal(0);
const feed = signal<LiveRun[]>([]);

const CHART_HEIGHT = 220;

function openBucketRuns(t: number, step: number, extra: Record<string, string | undefined>) {
  navigate('runs', { from: String(t), to: String(t + step), ...extra }, { keepRange: false });
}

export function Overview() {
  const r = range.value;
  const key = `${r.from}:${r.to}`;
  const span = r.to - r.from;
  // The critical path is two queries: counts by status (the failure rate is derived from
  // them) and the duration percentiles. The previous period and the failing jobs are asked
  // for once the counts have landed, so they never compete with the first charts.
  const runs = useQuery(key, (signal) => apiGet<TimeseriesResponse>('/api/v1/timeseries', { ...rangeParams(r), metric: 'runs' }, signal));
  const duration = useQuery(key, (signal) => apiGet<TimeseriesResponse>('/api/v1/timeseries', { ...rangeParams(r), metric: 'duration' }, signal));
  const landed = runs.dataKey;
  const previous = useQuery(landed, (signal) => apiGet<TimeseriesResponse>('/api/v1/timeseries', { from: String(r.from - span), to: String(r.to - span), metric: 'runs' }, signal));
  const jobs = useQuery(landed, (signal) => apiGet<BreakdownResponse>('/api/v1/breakdown', { ...rangeParams(r), by: 'job', limit: 500 }, signal));
  const failure = useMemo(() => ({ data: runs.data ? failureRate(runs.data) : null, error: runs.error, loading: runs.loading }), [runs.data, runs.error, runs.loading]);

  const overlay = useLive(r, runs.data);
  const zoom = (from: number, to: number) => setCustom(from, to);
  const xRange: [number, number] = [r.from, r.to];

  const runsData = useMemo(() => {
    if (!runs.data) return null;
    const { raw, stacked } = stackedRuns(runs.data, overlay.buckets);
    return { raw, data: aligned(times(runs.data.t), ...stacked, shiftedTotals(previous.data, runs.data)) };
  }, [runs.data, previous.data, overlay.version]);

  const totals = useMemo(() => {
    if (!runs.data) return null;
    const sum = (name: string) => (runs.data!.series[name] ?? []).reduce<number>((acc, value) => acc + (value ?? 0), 0);
    const failures = sum('failed') + sum('timeout');
    const finished = sum('total') - sum('running');
    const prevTotal = previous.data ? (previous.data.series['total'] ?? []).reduce<number>((acc, value) => acc + (value ?? 0), 0) : null;
    return { total: sum('total'), failures, rate: finished > 0 ? failures / finished : null, prevTotal };
  }, [runs.data, previous.data]);

  const runsOptions = () => ({
    series: [
      {},
      ...[...STATUSES].reverse().map((status) => ({
        label: status,
        stroke: PALETTE[status],
        fill: PALETTE[status],
        paths: barsPath,
        points: { show: false },
        value: (_u: uPlot, _v: number | null, _si: number, index: number | null) => (index === null || !runsDataRef.current ? '–' : fmtCount(runsDataRef.current.raw[status][index])),
      })),
      { label: 'previous period', stroke: PALETTE.previous, width: 1.5, dash: [6, 4], points: { show: false }, value: (_u: uPlot, v: number | null) => fmtCount(v) },
    ],
    axes: [{}, { size: 56, values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => fmtCount(tick)) }],
  });
  const runsDataRef = useRef(runsData);
  runsDataRef.current = runsData;

  const failureData = useMemo(() => (failure.data ? aligned(times(failure.data.t), column(failure.data.series['failure_rate'], failure.data.t.length)) : null), [failure.data]);
  const durationData = useMemo(() => {
    if (!duration.data) return null;
    const n = duration.data.t.length;
    return aligned(times(duration.data.t), column(duration.data.series['p50'], n), column(duration.data.series['p95'], n), column(duration.data.series['p99'], n));
  }, [duration.data]);

  const failing = useMemo(() => (jobs.data ? [...jobs.data.rows].filter((row) => row.failures > 0).sort((a, b) => b.failures - a.failures || b.runs - a.runs).slice(0, 10) : null), [jobs.data]);
  const maxFailures = failing?.[0]?.failures ?? 1;
  const step = runs.data?.step ?? 60;

  return (
    <div class="page overview">
      <div class="kpis">
        <Kpi label="runs" value={totals ? fmtCount(totals.total + overlay.count) : '…'} hint={totals?.prevTotal != null ? `previous ${fmtCount(totals.prevTotal)}` : ''} id="kpi-runs" />
        <Kpi label="failures" value={totals ? fmtCount(totals.failures) : '…'} bad={!!totals && totals.failures > 0} />
        <Kpi label="failure rate" value={totals ? fmtPct(totals.rate) : '…'} bad={!!totals?.rate && totals.rate > 0.05} />
        <Kpi label="step" value={runs.data ? fmtDuration(runs.data.step * 1000) : '…'} hint={runs.ms !== null ? `query ${Math.round(runs.ms)} ms` : ''} />
        <div class="kpi">
          <div class="kpi-label">live runs</div>
          <div class="kpi-value" id="live-count">{liveRuns}</div>
          <div class="kpi-hint">since this page opened</div>
        </div>
      </div>
      <div class="charts">
        <Panel title={<>Runs by status <span class="muted small">· {fmtDuration(step * 1000)} buckets · dashed: previous period</span></>} state={stateOf(runs, (totals?.total ?? 0) + overlay.count === 0)} error={runs.error} height={CHART_HEIGHT + 40} loading={runs.loading} id="chart-runs" class="wide">
          <Chart
            data={runsData?.data ?? null}
            options={runsOptions}
            shape="runs"
            height={CHART_HEIGHT}
            xRange={xRange}
            onZoom={zoom}
            syncKey="overview"
            label="runs by status"
            onPick={(index, y) => {
              const raw = runsDataRef.current?.raw;
              const t = runs.data?.t[index];
              if (!raw || t === undefined) return;
              let cumulative = 0;
              let status: Status | undefined;
              for (const candidate of STATUSES) {
                cumulative += raw[candidate][index]!;
                if (y <= cumulative) {
                  status = candidate;
                  break;
                }
              }
              openBucketRuns(t, step, { status });
            }}
          />
        </Panel>
        <Panel title="Failure rate" state={stateOf(failure, !failure.data?.series['finished']?.some((value) => (value ?? 0) > 0))} error={failure.error} height={CHART_HEIGHT + 40} loading={failure.loading} id="chart-failure">
          <Chart
            data={failureData}
            shape="failure"
            height={CHART_HEIGHT}
            xRange={xRange}
            onZoom={zoom}
            syncKey="overview"
            label="failure rate"
            options={() => ({
              series: [{}, { label: 'failure rate', stroke: PALETTE.failed, fill: 'rgba(217,69,61,0.12)', width: 1.5, points: { size: 4 }, value: (_u: uPlot, v: number | null) => fmtPct(v) }],
              axes: [{}, { size: 56, values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => fmtPct(tick, 0)) }],
              scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(0.05, max * 1.1)] as [number, number] } },
            })}
            onPick={(index) => {
              const t = failure.data?.t[index];
              if (t !== undefined) openBucketRuns(t, failure.data!.step, { status: 'failed' });
            }}
          />
        </Panel>
        <Panel title="Duration p50 / p95 / p99" state={stateOf(duration, !duration.data?.series['count']?.some((value) => (value ?? 0) > 0))} error={duration.error} height={CHART_HEIGHT + 40} loading={duration.loading} id="chart-duration">
          <Chart
            data={durationData}
            shape="duration"
            height={CHART_HEIGHT}
            xRange={xRange}
            onZoom={zoom}
            syncKey="overview"
            label="duration percentiles"
            options={() => ({
              series: [
                {},
                { label: 'p50', stroke: PALETTE.succeeded, width: 1.5, value: (_u: uPlot, v: number | null) => fmtDuration(v) },
                { label: 'p95', stroke: PALETTE.timeout, width: 1.5, value: (_u: uPlot, v: number | null) => fmtDuration(v) },
                { label: 'p99', stroke: PALETTE.failed, width: 1.5, value: (_u: uPlot, v: number | null) => fmtDuration(v) },
              ],
              axes: [{}, { size: 64, values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => fmtDuration(tick)) }],
            })}
            onPick={(index) => {
              const t = duration.data?.t[index];
              if (t !== undefined) navigate('runs', { from: String(t), to: String(t + duration.data!.step), sort: 'duration' }, { keepRange: false });
            }}
          />
        </Panel>
        <Panel title="Top failing jobs" state={stateOf(jobs, failing?.length === 0)} empty="No failures in this range." error={jobs.error} height={CHART_HEIGHT + 40} loading={jobs.loading} id="chart-failing">
          <ol class="hbars">
            {(failing ?? []).map((row) => (
              <li key={row.value}>
                <button type="button" onClick={() => navigate('runs', { job: row.value, status: 'failed' })} title={`${row.failures} failed or timed out of ${row.runs}`}>
                  <span class="hbar-label">{row.value}</span>
                  <span class="hbar-track"><span class="hbar" style={{ width: `${(row.failures / maxFailures) * 100}%` }} /></span>
                  <span class="hbar-value">{fmtCount(row.failures)} <span class="muted">· {fmtPct(row.failure_rate, 0)}</span></span>
                </button>
              </li>
            ))}
          </ol>
        </Panel>
        <Panel title={<>Live runs <LiveBadge /></>} state={feed.value.length > 0 ? 'ready' : 'empty'} empty={livePaused.value ? 'Live updates paused.' : r.preset === null ? 'Live updates apply to ranges ending now (pick a preset).' : 'Waiting for runs…'} height={CHART_HEIGHT + 40} id="live-feed">
          <ul class="feed">
            {feed.value.map((run) => (
              <li key={`${run.id}:${run.version}`} data-key={run.key}>
                <span class={`dot ${run.status}`} />
                <button type="button" class="link mono" onClick={() => navigate('runs', { run: run.id, key: run.key })}>{run.key}</button>
                <span class="muted">{run.job}</span>
                <span class={`status ${run.status}`}>{run.status}</span>
                <span class="muted">{fmtDuration(run.duration_ms)}</span>
                <span class="muted small">{fmtTime(run.started_at_ms, false)}</span>
              </li>
            ))}
          </ul>
        </Panel>
      </div>
    </div>
  );
}

/** failures / finished per bucket, from the counts by status (null where nothing finished). */
function failureRate(response: TimeseriesResponse): TimeseriesResponse {
  const n = response.t.length;
  const at = (name: string, index: number) => response.series[name]?.[index] ?? 0;
  const failures = Array.from({ length: n }, (_, i) => at('failed', i) + at('timeout', i));
  const finished = Array.from({ length: n }, (_, i) => at('total', i) - at('running', i));
  return { ...response, metric: 'failure_rate', series: { failure_rate: failures.map((value, i) => (finished[i]! > 0 ? value / finished[i]! : null)), failures, finished } };
}

function Kpi(props: { label: string; value: string; hint?: string; bad?: boolean; id?: string }) {
  return (
    <div class="kpi" id={props.id}>
      <div class="kpi-label">{props.label}</div>
      <div class={`kpi-value${props.bad ? ' bad-text' : ''}`}>{props.value}</div>
      <div class="kpi-hint">{props.hint ?? ''}</div>
    </div>
  );
}

export function LiveBadge({ id }: { id?: string }) {
  const status = livePaused.value ? 'paused' : liveStatus.value;
  const label = status === 'live' ? 'live' : status === 'paused' ? 'paused' : status === 'off' ? 'not live' : status === 'stopped' ? 'live unavailable'
    : status === 'unavailable' ? 'live off on server' : 'connecting';
  const title = livePaused.value ? 'resume live updates' : status === 'unavailable' || status === 'stopped' ? `${liveDetail.value || 'live unavailable'} (click to pause)` : 'pause live updates';
  return (
    <button type="button" class={`live-badge ${status}`} onClick={() => (livePaused.value = !livePaused.value)} title={title} id={id} data-status={status}>
      <span class="live-dot" /> {label}
    </button>
  );
}

/**
 * Live runs on the open Overview: each new run is counted at once in its bucket (an
 * overlay keyed by run id, so a run's later versions move it rather than add it), and a
 * reconciling refetch follows; when it lands, runs that arrived well before it was issued
 * are in the query's answer and leave the overlay.
 */
function useLive(r: Range, base: TimeseriesResponse | null) {
  const overlay = useRef(new Map<string, { t: number; status: Status; at: number }>());
  const [version, setVersion] = useState(0);
  const issuedAt = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const relative = r.preset !== null;
  const paused = livePaused.value;

  useEffect(() => {
    issuedAt.current = Date.now();
  }, [r.from, r.to]);

  useEffect(() => {
    // The query that just landed covers everything stored before it was issued (minus the sink's flush).
    const cutoff = issuedAt.current - 1000;
    let removed = false;
    for (const [id, entry] of overlay.current) if (entry.at < cutoff) {
      overlay.current.delete(id);
      removed = true;
    }
    if (removed) setVersion((value) => value + 1);
  }, [base]);

  useEffect(() => {
    if (!relative || paused) {
      liveStatus.value = paused ? 'paused' : 'off';
      return;
    }
    const span = r.to - r.from;
    const reconcileMs = span > 7 * 86_400 ? 15_000 : span > 86_400 ? 5_000 : 1_500;
    const stream = openLiveStream({
      urls: ['/api/v1/live'],
      headers: authHeaders(),
      onState: (state, detail) => {
        liveStatus.value = state;
        liveDetail.value = state === 'unavailable' || state === 'stopped' ? detail ?? '' : '';
      },
      onReload: () => {
        refreshClock();
        return null;
      },
      onRuns: (runs) => {
        const now = Date.now();
        batch(() => {
          liveRuns.value += runs.length;
          feed.value = [...runs].reverse().concat(feed.value).slice(0, 30);
        });
        for (const run of runs) overlay.current.set(run.id, { t: Math.floor(run.started_at_ms / 1000), status: run.status as Status, at: now });
        setVersion((value) => value + 1);
        if (timer.current === null) {
          timer.current = setTimeout(() => {
            timer.current = null;
            refreshClock();
          }, reconcileMs);
        }
      },
    });
    return () => {
      stream.close();
      if (timer.current !== null) clearTimeout(timer.current);
      timer.current = null;
      liveStatus.value = 'off';
    };
  }, [relative, paused, r.preset]);

  return useMemo(() => {
    const buckets = new Map<number, Partial<Record<Status, number>>>();
    let count = 0;
    if (base && base.t.length > 0) {
      const first = base.t[0]!;
      for (const entry of overlay.current.values()) {
        const index = Math.floor((entry.t - first) / base.step);
        if (index < 0) continue;
        count++;
        const counts = buckets.get(Math.min(index, base.t.length - 1)) ?? {};
        counts[entry.status] = (counts[entry.status] ?? 0) + 1;
        buckets.set(Math.min(index, base.t.length - 1), counts);
      }
    }
    return { buckets, count, version };
  }, [version, base]);
}
