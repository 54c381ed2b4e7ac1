// Alerts: transitions over the range (chart), the current states, the rules with their
// health, and the history — all from the alerting routes (api/alerting/routes.ts).
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart, PALETTE, barsPath } from '../components/chart.tsx';
import { Panel, stateOf } from '../components/panel.tsx';
import type { RuleView } from '../../../api/alerting/alerting.ts';
import { apiGet } from '../lib/api.ts';
import { fmtDuration, fmtTime } from '../lib/format.ts';
import { range, setCustom } from '../lib/range.ts';
import { aligned, bars, times } from '../lib/series.ts';
import { useQuery } from '../lib/use-query.ts';

interface AlertView { rule: string; fingerprint: string; state: string; labels: Record<string, string>; annotations: Record<string, string>; value: number | null; since: string | null; firingSince: string | null; error: string | null }
interface EventView { at: string; rule: string; fingerprint: string; from: string; to: string; labels: Record<string, string>; value: number | null; severity: string; silenced: boolean; error: string | null; notified: string[] }

const STATE_COLORS: Record<string, string> = { firing: PALETTE.failed, pending: PALETTE.timeout, resolved: PALETTE.succeeded, inactive: PALETTE.cancelled, error: '#8e44ad' };
const TARGETS = ['firing', 'pending', 'resolved', 'error'] as const;

export function Alerts() {
  const r = range.value;
  const current = useQuery(`current:${r.to}`, (signal) => apiGet<{ alerts: AlertView[] }>('/api/v1/alerts', {}, signal));
  const history = useQuery(`${r.from}:${r.to}`, (signal) => apiGet<{ events: EventView[] }>('/api/v1/alerts/history', { from: String(r.from * 1000), to: String(r.to * 1000), limit: 1000 }, signal));
  const rules = useQuery('rules', (signal) => apiGet<{ rules: RuleView[]; problems: string[] }>('/api/v1/alerts/rules', {}, signal));

  const chart = useMemo(() => {
    if (!history.data) return null;
    const buckets = 60;
    const step = Math.max(60, Math.ceil((r.to - r.from) / buckets));
    const t = Array.from({ length: buckets }, (_, index) => r.from + index * step);
    const counts = TARGETS.map(() => new Float64Array(buckets));
    for (const event of history.data.events) {
      const index = Math.floor((Date.parse(event.at) / 1000 - r.from) / step);
      const target = TARGETS.indexOf(event.to as (typeof TARGETS)[number]);
      if (index >= 0 && index < buckets && target >= 0) counts[target]![index]!++;
    }
    // Stacked, tallest first (see lib/series.ts).
    const stacked: Float64Array[] = [];
    const sum = new Float64Array(buckets);
    for (const column of counts) {
      for (let i = 0; i < buckets; i++) sum[i]! += column[i]!;
      stacked.push(Float64Array.from(sum));
    }
    return aligned(times(t), ...stacked.reverse().map(bars));
  }, [history.data]);

  const alerts = current.data?.alerts ?? [];
  const events = history.data?.events ?? [];
  return (
    <div class="page alerts">
      <Panel title="Alert transitions over time" state={stateOf(history, events.length === 0)} empty="No alert transitions in this range." error={history.error} height={200} loading={history.loading} id="chart-alerts">
        <Chart
          data={chart}
          shape="alerts"
          height={160}
          xRange={[r.from, r.to]}
          onZoom={setCustom}
          label="alert transitions"
          options={() => ({
            series: [{}, ...[...TARGETS].reverse().map((target) => ({ label: `→ ${target}`, stroke: STATE_COLORS[target], fill: STATE_COLORS[target], paths: barsPath, points: { show: false } }))],
            axes: [{}, { size: 40 }],
          })}
        />
      </Panel>
      <div class="stack">
        <Panel title={<>Current alerts <span class="muted small">{current.data ? alerts.length : ''}</span></>} state={stateOf(current, alerts.length === 0)} empty="Nothing pending or firing." error={current.error} id="alerts-current">
          <table class="grid">
            <thead><tr><th>state</th><th>rule</th><th>summary</th><th>labels</th><th class="num">value</th><th>since</th></tr></thead>
            <tbody>
              {alerts.map((alert) => (
                <tr key={`${alert.rule}:${alert.fingerprint}`}>
                  <td><span class="status" style={{ background: STATE_COLORS[alert.state] ?? PALETTE.cancelled }}>{alert.state}</span></td>
                  <td class="mono nowrap">{alert.rule}</td>
                  <td class="wrap">{alert.error ? <span class="bad-text">{alert.error}</span> : alert.annotations['summary'] ?? ''}</td>
                  <td><Labels labels={alert.labels} /></td>
                  <td class="num">{fmtValue(alert.value)}</td>
                  <td class="nowrap">{alert.since ? fmtTime(Date.parse(alert.since)) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
        <Panel title={<>Rules <span class="muted small">{rules.data ? rules.data.rules.length : ''}</span></>} state={stateOf(rules, (rules.data?.rules.length ?? 0) === 0 && (rules.data?.problems.length ?? 0) === 0)} empty="No rules loaded." error={rules.error} id="alerts-rules">
          {rules.data?.problems.map((problem) => <div class="error-box" key={problem}>{problem}</div>)}
          <table class="grid">
            <thead><tr><th>rule</th><th>severity</th><th>every</th><th>for</th><th>health</th></tr></thead>
            <tbody>
              {(rules.data?.rules ?? []).map((rule) => (
                <tr key={rule.name} class={rule.enabled ? '' : 'muted'}>
                  <td class="mono">{rule.name} <span class="muted small">{rule.source}</span></td>
                  <td>{rule.severity}</td>
                  <td>{fmtDuration(rule.everyMs)}</td>
                  <td>{fmtDuration(rule.forMs)}</td>
                  <td class="small">{rule.health?.state === 'error' ? <span class="bad-text">{rule.health.error}</span> : rule.health?.lastEvaluationMs ? `ok · ${fmtTime(rule.health.lastEvaluationMs, false)} · ${fmtDuration(rule.health.lastDurationMs)}` : <span class="muted">{rule.enabled ? 'evaluated on the leader' : 'disabled'}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      </div>
      <Panel title="History, newest first" state={stateOf(history, events.length === 0)} empty="No transitions in this range." error={history.error} id="alerts-history">
        <div class="table-scroll">
          <table class="grid">
            <thead><tr><th>when</th><th>rule</th><th>transition</th><th>labels</th><th class="num">value</th><th>notified</th></tr></thead>
            <tbody>
              {events.slice(0, 500).map((event, index) => (
                <tr key={index}>
                  <td class="nowrap">{fmtTime(Date.parse(event.at))}</td>
                  <td class="mono">{event.rule}</td>
                  <td>{event.from} → <b style={{ color: STATE_COLORS[event.to] }}>{event.to}</b>{event.silenced ? <span class="tag">silenced</span> : null}</td>
                  <td><Labels labels={event.labels} /></td>
                  <td class="num">{fmtValue(event.value)}</td>
                  <td class="small">{event.notified.join(', ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Panel>
    </div>
  );
}

/** The rule name and severity have their own columns. */
function Labels({ labels }: { labels: Record<string, string> }) {
  return <>{Object.entries(labels).filter(([key]) => key !== 'alertname' && key !== 'severity').map(([k, v]) => <span class="tag" key={k}>{k}={v}</span>)}</>;
}

function fmtValue(value: number | null): string {
  return value === null ? '–' : String(Math.round(value * 1000) / 1000);
}
