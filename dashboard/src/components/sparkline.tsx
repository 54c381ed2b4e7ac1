// A tiny SVG line for table rows: hundreds of them cost less as SVG paths than as canvases.
export function Sparkline({ values, width = 120, height = 24, color = 'var(--accent)' }: { values: ReadonlyArray<number | null>; width?: number; height?: number; color?: string }) {
  const finite = values.filter((value): value is number => value !== null && Number.isFinite(value));
  if (finite.length === 0) return <svg class="sparkline" width={width} height={height} aria-hidden="true" />;
  const max = Math.max(...finite, 1);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  let path = '';
  values.forEach((value, index) => {
    const y = height - 2 - ((value ?? 0) / max) * (height - 4);
    path += `${index === 0 ? 'M' : 'L'}${(index * step).toFixed(1)},${y.toFixed(1)}`;
  });
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      <path d={path} fill="none" stroke={color} stroke-width="1.5" />
    </svg>
  );
}
