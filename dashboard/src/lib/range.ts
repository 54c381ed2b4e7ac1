// Time ranges: a preset relative to now (`range=24h`, the default) or fixed bounds
// (`from`/`to`, Unix seconds) — what a zoom or the custom picker sets.
import { computed, signal } from '@preact/signals';
import { route, setParams } from './router.ts';

export const PRESETS = [
  { id: '15m', label: '15 min', seconds: 900 },
  { id: '1h', label: '1 h', seconds: 3600 },
  { id: '6h', label: '6 h', seconds: 6 * 3600 },
  { id: '24h', label: '24 h', seconds: 86_400 },
  { id: '7d', label: '7 d', seconds: 7 * 86_400 },
  { id: '30d', label: '30 d', seconds: 30 * 86_400 },
  { id: '90d', label: '90 d', seconds: 90 * 86_400 },
  { id: '1y', label: '1 y', seconds: 365 * 86_400 },
] as const;

export interface Range {
  /** Unix seconds. */
  from: number;
  to: number;
  /** The preset id when relative to now, else null. */
  preset: string | null;
}

/** Advances every 30 s so relative ranges move with the clock (and on demand: refresh()). */
export const clock = signal(Math.floor(Date.now() / 1000));
setInterval(() => {
  clock.value = Math.floor(Date.now() / 1000);
}, 30_000);
export function refreshClock(): void {
  clock.value = Math.floor(Date.now() / 1000);
}

export const range = computed<Range>(() => {
  const params = route.value.params;
  const from = Number(params.get('from'));
  const to = Number(params.get('to'));
  if (params.get('from') && params.get('to') && Number.isFinite(from) && Number.isFinite(to) && to > from) return { from, to, preset: null };
  const preset = PRESETS.find((candidate) => candidate.id === params.get('range')) ?? PRESETS[3];
  const now = clock.value;
  return { from: now - preset.seconds, to: now, preset: preset.id };
});

export function setPreset(id: string): void {
  setParams({ range: id === '24h' ? undefined : id, from: undefined, to: undefined });
}

export function setCustom(from: number, to: number): void {
  setParams({ range: undefined, from: String(Math.floor(from)), to: String(Math.ceil(to)) });
}

/** The range as API parameters (Unix seconds). */
export function rangeParams(r: Range): { from: string; to: string } {
  return { from: String(Math.floor(r.from)), to: String(Math.ceil(r.to)) };
}
