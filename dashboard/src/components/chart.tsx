// uPlot in Preact: created once per shape (series, theme, zone), then only setData —
// column-oriented data, x in Unix seconds. Drag selects a range (onZoom); a click reports
// the bucket under the cursor (onPick). Width follows the container.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { settings } from '../lib/settings.ts';

export interface ChartProps {
  data: uPlot.AlignedData | null;
  /** Everything but width/height/data; rebuilt when `shape` changes. */
  options: () => Omit<uPlot.Options, 'width' | 'height'>;
  shape: string;
  height: number;
  /** x range to show (seconds), e.g. the requested range, so empty edges stay visible. */
  xRange?: [number, number] | null;
  onZoom?: (from: number, to: number) => void;
  onPick?: (index: number, yValue: number, u: uPlot) => void;
  /** Chart instances with the same key share the cursor. */
  syncKey?: string;
  label?: string;
}

export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const theme = settings.theme.value;
  const tz = settings.tz.value;

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const base = props.options();
    // Nothing to draw yet (e.g. no jobs): uPlot needs at least one y series.
    if (base.series.length < 2) return;
    const css = getComputedStyle(document.documentElement);
    const axisColor = css.getPropertyValue('--muted').trim() || '#888';
    const gridColor = css.getPropertyValue('--grid').trim() || '#eee';
    const axes = (base.axes ?? [{}, {}]).map((axis) => ({ stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 }, ...axis }));
    let dragged = false;
    const options: uPlot.Options = {
      ...base,
      axes,
      width: Math.max(200, element.clientWidth),
      height: props.height,
      ...(tz === 'utc' ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') } : {}),
      cursor: {
        drag: { x: true, y: false, setScale: false },
        ...(props.syncKey ? { sync: { key: props.syncKey } } : {}),
        ...base.cursor,
      },
      scales: {
        x: {
          time: true,
          range: (u, min, max) => {
            const fixed = latest.current.xRange;
            return fixed ? [fixed[0], fixed[1]] : [min, max];
          },
        },
        ...base.scales,
      },
      hooks: {
        ...base.hooks,
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            dragged = true;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            latest.current.onZoom?.(from, to);
          },
        ],
        draw: [
          (u) => {
            u.root.dataset['drawn'] = String(Number(u.root.dataset['drawn'] ?? 0) + 1);
          },
        ],
      },
    };
    const u = new uPlot(options, props.data ?? emptyData(base.series.length), element);
    plot.current = u;
    const click = () => {
      if (dragged) {
        dragged = false;
        return;
      }
      const index = u.cursor.idx;
      if (index === null || index === undefined || !latest.current.onPick) return;
      latest.current.onPick(index, u.posToVal(u.cursor.top ?? 0, 'y'), u);
    };
    // The plot area (uPlot's `over`, not in its typings).
    const over = u.root.querySelector<HTMLElement>('.u-over')!;
    over.addEventListener('click', click);
    if (latest.current.onPick) over.style.cursor = 'pointer';
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, element.clientWidth);
      if (width !== u.width) u.setSize({ width, height: latest.current.height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      over.removeEventListener('click', click);
      u.destroy();
      plot.current = null;
    };
  }, [props.shape, theme, tz, props.height]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    const data = props.data ?? emptyData(u.series.length);
    // A shape change is on its way when the column count differs (new chart next effect).
    if (data.length !== u.series.length) return;
    u.batch(() => {
      u.setData(data, true);
    });
  }, [props.data, props.xRange?.[0], props.xRange?.[1]]);

  return <div class="chart" ref={host} aria-label={props.label} role="img" />;
}

function emptyData(series: number): uPlot.AlignedData {
  return Array.from({ length: Math.max(1, series) }, () => []) as unknown as uPlot.AlignedData;
}

export { uPlot };

/** Bars for a time axis (stacked by the caller: cumulative columns, drawn largest first). */
export const barsPath = uPlot.paths.bars!({ size: [0.9, 64] });

export const PALETTE = {
  succeeded: '#2e9d5b',
  failed: '#d9453d',
  timeout: '#e08a1e',
  cancelled: '#8a8f98',
  running: '#3b82c4',
  previous: '#9a7fd1',
  lines: ['#3b82c4', '#d9453d', '#2e9d5b', '#e08a1e', '#9a7fd1', '#14a3a3', '#c2559b', '#7a8b2a', '#5c6bc0', '#a1662f'],
};

export function seriesColor(index: number): string {
  return PALETTE.lines[index % PALETTE.lines.length]!;
}
