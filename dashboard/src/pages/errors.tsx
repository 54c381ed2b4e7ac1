// Ingest errors in the range (from the health strip): when they happened, and each one.
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart, PALETTE, barsPath } from '../components/chart.tsx';
import { Panel, stateOf } from '../components/panel.tsx';
import { apiGet, type IngestErrorsResponse } from '../lib/api.ts';
import { fmtCount, fmtTime } from '../lib/format.ts';
import { range, rangeParams, setCustom } from '../lib/range.ts';
import { navigate } from '../lib/router.ts';
import { aligned, bars, times } from '../lib/series.ts';
import { useQuery } from '../lib/use-query.ts';

export function Errors() {
  const r = range.value;
  const errors = useQuery(`${r.from}:${r.to}`, (signal) => apiGet<IngestErrorsResponse>('/api/v1/ingest-errors', { ...rangeParams(r), limit: 1000 }, signal));
  const chart = useMemo(() => {
    if (!errors.data) return null;
    const buckets = 60;
    const step = Math.max(1, Math.ceil((r.to - r.from) / buckets));
    const t = new Float64Array(buckets).map((_, index) => r.from + index * step);
    const counts = new Float64Array(buckets);
    for (const error of errors.data.errors) {
      const index = Math.floor((error.occurred_at_ms / 1000 - r.from) / step);
      if (index >= 0 && index < buckets) counts[index]!++;
    }
    return aligned(times(Array.from(t)), bars(counts));
  }, [errors.data]);
  const list = errors.data?.errors ?? [];
  return (
    <div class="page errors">
      <Panel title={<>Ingest errors over time <span class="muted small">{errors.data ? `${fmtCount(errors.data.total)} in range${errors.data.truncated ? `, latest ${list.length} charted` : ''}` : ''}</span></>} state={stateOf(errors, list.length === 0)} empty="No ingest errors in this range." error={errors.error} height={200} loading={errors.loading} id="chart-errors">
        <Chart
          data={chart}
          shape="errors"
          height={160}
          xRange={[r.from, r.to]}
          onZoom={setCustom}
          label="ingest errors over time"
          options={() => ({ series: [{}, { label: 'errors', stroke: PALETTE.failed, fill: PALETTE.failed, paths: barsPath, points: { show: false } }], axes: [{}, { size: 48 }] })}
        />
      </Panel>
      <Panel title="Errors, newest first" state={stateOf(errors, list.length === 0)} empty="Nothing failed to ingest in this range." error={errors.error} id="errors-table">
        <div class="table-scroll">
          <table class="grid">
            <thead><tr><th>when</th><th>source</th><th>run</th><th>file</th><th>kind</th><th>reason</th></tr></thead>
            <tbody>
              {list.map((error, index) => (
                <tr key={index}>
                  <td class="nowrap">{fmtTime(error.occurred_at_ms)}</td>
                  <td>{error.source}</td>
                  <td class="mono">{error.run_date && error.key ? <button type="button" class="link" onClick={() => navigate('runs', { key: error.key, run: `${error.run_date}/${error.key}` })}>{error.run_date}/{error.key}</button> : error.origin}</td>
                  <td class="mono">{error.file}</td>
                  <td>{error.kind}</td>
                  <td class="wrap">{error.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Panel>
    </div>
  );
}
