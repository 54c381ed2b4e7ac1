// Range presets, and a custom range as two datetime inputs (in the chosen zone).
import { useState } from 'preact/hooks';
import { fmtTime } from '../lib/format.ts';
import { PRESETS, range, setCustom, setPreset } from '../lib/range.ts';
import { settings } from '../lib/settings.ts';

function toInput(seconds: number): string {
  return fmtTime(seconds * 1000).replace(' ', 'T').slice(0, 16);
}

function fromInput(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(text)) return null;
  const ms = settings.tz.value === 'utc' ? Date.parse(`${text}:00Z`) : new Date(`${text}:00`).getTime();
  return Number.isFinite(ms) ? ms / 1000 : null;
}

export function RangeBar() {
  const current = range.value;
  const [custom, setCustomOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const open = () => {
    setFrom(toInput(current.from));
    setTo(toInput(current.to));
    setCustomOpen(!custom);
  };
  const apply = (event: Event) => {
    event.preventDefault();
    const a = fromInput(from);
    const b = fromInput(to);
    if (a !== null && b !== null && b > a) {
      setCustom(a, b);
      setCustomOpen(false);
    }
  };
  return (
    <div class="range-bar" role="group" aria-label="time range">
      {PRESETS.map((preset) => (
        <button type="button" key={preset.id} class={current.preset === preset.id ? 'seg active' : 'seg'} onClick={() => setPreset(preset.id)}>
          {preset.label}
        </button>
      ))}
      <button type="button" class={current.preset === null ? 'seg active' : 'seg'} onClick={open} title="custom range">
        {current.preset === null ? `${fmtTime(current.from * 1000)} → ${fmtTime(current.to * 1000)}` : 'custom…'}
      </button>
      {custom ? (
        <form class="custom-range" onSubmit={apply}>
          <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} aria-label="from" />
          <span>→</span>
          <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} aria-label="to" />
          <button type="submit" class="primary">apply</button>
          <span class="muted small">{settings.tz.value === 'utc' ? 'UTC' : 'local time'}</span>
        </form>
      ) : null}
    </div>
  );
}
