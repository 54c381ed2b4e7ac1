// SQL: a console on the read-only `sql` ClickHouse user — editor (Ctrl/⌘+Enter runs),
// results grid, "chart it" (pick x and series), CSV export, saved queries in localStorage.
// The query is kept in the URL (`?q=`) once run, so a result is a deep link.
import { useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { Chart, seriesColor } from '../components/chart.tsx';
import { Panel } from '../components/panel.tsx';
import { VirtualTable, type Column } from '../components/virtual-table.tsx';
import { ApiError, apiPost, type SqlResponse } from '../lib/api.ts';
import { fmtCount } from '../lib/format.ts';
import { param, setParams } from '../lib/router.ts';

const SAVED_KEY = 'runlens.sql.saved';
const EXAMPLE = `SELECT job, count() AS runs, countIf(status IN ('failed', 'timeout')) AS failures,
  round(quantile(0.95)(duration_ms)) AS p95_ms
FROM runs FINAL
WHERE run_date >= today() - 7
GROUP BY job
ORDER BY runs DESC
LIMIT 50`;

interface Saved { name: string; sql: string }

function loadSaved(): Saved[] {
  try {
    return JSON.parse(localStorage.getItem(SAVED_KEY) ?? '[]') as Saved[];
  } catch {
    return [];
  }
}

type Cell = SqlResponse['rows'][number][number];

/** DateTime and Date text (server time, UTC here) → Unix seconds; numbers stay numbers. */
function toX(value: Cell, type: string): number {
  if (typeof value === 'number') return value;
  if (value === null) return Number.NaN;
  if (/^(Nullable\()?(DateTime|Date)/.test(type)) {
    const iso = value.length === 10 ? `${value}T00:00:00Z` : `${value.replace(' ', 'T')}Z`;
    return Date.parse(iso) / 1000;
  }
  const number = Number(value);
  return Number.isFinite(number) ? number : Number.NaN;
}

function csv(result: SqlResponse): string {
  const escape = (value: Cell) => {
    if (value === null) return '';
    const text = String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [result.columns.map((column) => escape(column.name)).join(','), ...result.rows.map((row) => row.map(escape).join(','))].join('\r\n');
}

export function Sql() {
  const urlQuery = param('q');
  const [text, setText] = useState(urlQuery ?? EXAMPLE);
  const [result, setResult] = useState<SqlResponse | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [running, setRunning] = useState(false);
  const [saved, setSaved] = useState<Saved[]>(loadSaved);
  const xName = param('x');
  const yNames = (param('y') ?? '').split(',').filter(Boolean);

  const run = async () => {
    setRunning(true);
    setError(null);
    setParams({ q: text }, { replace: urlQuery !== null });
    try {
      const response = await apiPost<SqlResponse>('/api/v1/sql', { query: text });
      setResult(response);
    } catch (failure) {
      setError(failure as Error);
      setResult(null);
    } finally {
      setRunning(false);
    }
  };
  const persist = (next: Saved[]) => {
    setSaved(next);
    try {
      localStorage.setItem(SAVED_KEY, JSON.stringify(next));
    } catch {
      // storage full or disabled: the list lasts for this tab
    }
  };
  const save = () => {
    const name = prompt('Name for this query', saved.find((item) => item.sql === text)?.name ?? text.split('\n')[0]!.slice(0, 40));
    if (name) persist([{ name, sql: text }, ...saved.filter((item) => item.name !== name)]);
  };
  const download = () => {
    if (!result) return;
    const url = URL.createObjectURL(new Blob([csv(result)], { type: 'text/csv;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'runlens-query.csv';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const columns: Array<Column<SqlResponse['rows'][number]>> = (result?.columns ?? []).map((column, index) => ({
    key: `${index}`,
    label: column.name,
    width: column.numeric ? 'minmax(90px, 1fr)' : 'minmax(120px, 2fr)',
    align: column.numeric ? 'right' as const : undefined,
    render: (row) => {
      const value = row[index];
      return value === null ? <span class="muted">NULL</span> : <span class="ellipsis" title={String(value)}>{String(value)}</span>;
    },
  }));

  const numeric = result?.columns.filter((column) => column.numeric).map((column) => column.name) ?? [];
  const xColumn = result?.columns.find((column) => column.name === xName) ?? result?.columns[0];
  const ySeries = yNames.filter((name) => numeric.includes(name) && name !== xColumn?.name);
  const chart = useMemo(() => {
    if (!result || !xColumn || ySeries.length === 0) return null;
    const xIndex = result.columns.indexOf(xColumn);
    const isTime = /Date/.test(xColumn.type);
    const isNumber = xColumn.numeric || isTime;
    const order = result.rows.map((_, index) => index);
    const xs = result.rows.map((row, index) => (isNumber ? toX(row[xIndex] ?? null, xColumn.type) : index));
    order.sort((a, b) => xs[a]! - xs[b]!);
    const x = Float64Array.from(order.map((index) => xs[index]!));
    const ys = ySeries.map((name) => {
      const index = result.columns.findIndex((column) => column.name === name);
      return order.map((row) => {
        const value = result.rows[row]![index];
        return typeof value === 'number' ? value : null;
      });
    });
    const labels = isNumber ? null : order.map((index) => String(result.rows[index]![xIndex]));
    return { data: [x, ...ys] as unknown as uPlot.AlignedData, isTime, labels };
  }, [result, xColumn?.name, ySeries.join(',')]);

  return (
    <div class="page sql">
      <div class="sql-layout">
        <Panel title="Query" state="ready" id="sql-editor" class="sql-editor-panel"
          actions={<span class="muted small">read-only · one statement · Ctrl/⌘+Enter runs</span>}>
          <textarea
            class="editor mono"
            spellcheck={false}
            value={text}
            onInput={(event) => setText(event.currentTarget.value)}
            onKeyDown={(event) => {
              if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
                event.preventDefault();
                void run();
              }
            }}
            aria-label="SQL"
            rows={9}
          />
          <div class="row">
            <button type="button" class="primary" onClick={() => void run()} disabled={running} id="sql-run">{running ? 'running…' : 'Run'}</button>
            <button type="button" onClick={save}>save</button>
            <button type="button" onClick={download} disabled={!result}>CSV</button>
            {result ? (
              <span class="muted small" id="sql-stats">
                {fmtCount(result.row_count)} rows{result.truncated ? ` (first ${fmtCount(result.limits.max_rows_returned)}; more exist)` : ''} · {result.elapsed_ms} ms
              </span>
            ) : null}
          </div>
          {error ? <div class="error-box" role="alert" id="sql-error">{error instanceof ApiError && error.status ? `${error.status}: ` : ''}{error.message}</div> : null}
        </Panel>
        <Panel title="Saved queries" state={saved.length ? 'ready' : 'empty'} empty="Saved queries live in this browser." class="saved-panel" id="sql-saved">
          <ul class="saved">
            {saved.map((item) => (
              <li key={item.name}>
                <button type="button" class="link" onClick={() => setText(item.sql)} title={item.sql}>{item.name}</button>
                <button type="button" class="icon small" aria-label={`delete ${item.name}`} onClick={() => persist(saved.filter((other) => other.name !== item.name))}>✕</button>
              </li>
            ))}
          </ul>
        </Panel>
      </div>
      {result && result.columns.length > 0 ? (
        <Panel title="Chart it" state={chart ? 'ready' : 'empty'} empty="Pick a numeric column to chart." height={300} id="sql-chart"
          actions={
            <div class="chart-pick">
              <label>x <select value={xColumn?.name} onChange={(event) => setParams({ x: event.currentTarget.value }, { replace: true })} aria-label="x column">
                {result.columns.map((column) => <option key={column.name} value={column.name}>{column.name}</option>)}
              </select></label>
              {numeric.filter((name) => name !== xColumn?.name).map((name) => (
                <label key={name} class="check">
                  <input type="checkbox" checked={ySeries.includes(name)} onChange={(event) => setParams({ y: (event.currentTarget.checked ? [...ySeries, name] : ySeries.filter((other) => other !== name)).join(',') }, { replace: true })} />
                  {name}
                </label>
              ))}
            </div>
          }>
          {chart ? (
            <Chart
              data={chart.data}
              shape={`sql:${xColumn?.name}:${ySeries.join(',')}:${chart.isTime}:${chart.labels?.length ?? 0}`}
              height={260}
              label="query result chart"
              options={() => ({
                series: [{ label: xColumn?.name ?? 'x', ...(chart.labels ? { value: (_u: uPlot, v: number) => chart.labels![v] ?? '' } : {}) }, ...ySeries.map((name, index) => ({ label: name, stroke: seriesColor(index), width: 1.5, value: (_u: uPlot, v: number | null) => fmtCount(v) }))],
                scales: { x: { time: chart.isTime } },
                axes: [chart.labels ? { values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => chart.labels![Math.round(tick)] ?? '') } : {}, { size: 64, values: (_u: uPlot, ticks: number[]) => ticks.map((tick) => fmtCount(tick)) }],
              })}
            />
          ) : null}
        </Panel>
      ) : null}
      <Panel title="Results" state={running && !result ? 'loading' : result ? (result.rows.length ? 'ready' : 'empty') : 'empty'} empty={result ? 'The query returned no rows.' : 'Run a query.'} loading={running} id="sql-results">
        {result && result.rows.length > 0 ? (
          <VirtualTable rows={result.rows} columns={columns} height="max(240px, calc(100vh - 640px))" rowKey={(_, index) => String(index)} label="query results" />
        ) : <div style={{ height: '120px' }} />}
      </Panel>
    </div>
  );
}
