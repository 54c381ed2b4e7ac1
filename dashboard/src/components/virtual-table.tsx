// A table that renders only the rows in view (fixed row height), so it scrolls through
// any number of loaded rows; `onNearEnd` asks for the next cursor page before the end.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Column<T> {
  key: string;
  label: string;
  width: string;
  render: (row: T, index: number) => ComponentChildren;
  align?: 'right';
}

export function VirtualTable<T>(props: {
  rows: readonly T[];
  columns: ReadonlyArray<Column<T>>;
  rowHeight?: number;
  height: number | string;
  onRowClick?: (row: T, index: number) => void;
  onNearEnd?: () => void;
  rowKey: (row: T, index: number) => string;
  selectedKey?: string | null;
  footer?: ComponentChildren;
  label?: string;
}) {
  const rowHeight = props.rowHeight ?? 30;
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setViewport(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - 10);
  const last = Math.min(props.rows.length, Math.ceil((scrollTop + viewport) / rowHeight) + 10);
  useEffect(() => {
    if (props.onNearEnd && last >= props.rows.length - 50) props.onNearEnd();
  }, [last, props.rows.length]);
  const template = props.columns.map((column) => column.width).join(' ');
  const visible = [];
  for (let index = first; index < last; index++) {
    const row = props.rows[index]!;
    const key = props.rowKey(row, index);
    visible.push(
      <div
        key={key}
        role="row"
        class={`vt-row${props.onRowClick ? ' clickable' : ''}${props.selectedKey === key ? ' selected' : ''}`}
        style={{ top: `${index * rowHeight}px`, height: `${rowHeight}px`, gridTemplateColumns: template }}
        onClick={() => props.onRowClick?.(row, index)}
        data-key={key}
      >
        {props.columns.map((column) => (
          <div role="cell" class={`vt-cell${column.align === 'right' ? ' num' : ''}`} key={column.key}>
            {column.render(row, index)}
          </div>
        ))}
      </div>,
    );
  }
  return (
    <div class="vt" role="table" aria-label={props.label}>
      <div class="vt-head" role="row" style={{ gridTemplateColumns: template }}>
        {props.columns.map((column) => (
          <div role="columnheader" class={`vt-cell${column.align === 'right' ? ' num' : ''}`} key={column.key}>
            {column.label}
          </div>
        ))}
      </div>
      <div class="vt-scroll" ref={scroller} style={{ height: typeof props.height === 'number' ? `${props.height}px` : props.height }} onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}>
        <div class="vt-space" style={{ height: `${props.rows.length * rowHeight}px` }}>
          {visible}
        </div>
        {props.footer}
      </div>
    </div>
  );
}
