// How a range is cut into rollup tiers, and which filters the rollups can answer.
import { describe, expect, it } from 'vitest';
import { coarsestTierForStep, dimensionOf, minutesKept, planSegments, toRollupWindow, type RollupSettings } from '../../api/queries/rollup-plan.ts';
import { pickStep } from '../../api/queries/timeseries.ts';
import { rollupQuery } from '../../api/queries/timeseries-rollup-source.ts';

const at = (text: string) => Date.parse(text);
const SETTINGS: RollupSettings = { labelKeys: ['region'], minuteRetentionDays: 35, dayTier: true };

describe('planSegments', () => {
  it('a year with edges inside hours is whole days plus hour and minute edges', () => {
    const segments = planSegments({ fromMs: at('2025-11-22T10:21:00Z'), toMs: at('2026-11-21T16:43:00Z') }, 'day');
    expect(segments).toEqual([
      { tier: 'minute', fromMs: at('2025-11-22T10:21:00Z'), toMs: at('2025-11-22T11:00:00Z') },
      { tier: 'hour', fromMs: at('2025-11-22T11:00:00Z'), toMs: at('2025-11-23T00:00:00Z') },
      { tier: 'day', fromMs: at('2025-11-23T00:00:00Z'), toMs: at('2026-11-21T00:00:00Z') },
      { tier: 'hour', fromMs: at('2026-11-21T00:00:00Z'), toMs: at('2026-11-21T16:00:00Z') },
      { tier: 'minute', fromMs: at('2026-11-21T16:00:00Z'), toMs: at('2026-11-21T16:43:00Z') },
    ]);
  });

  it('with the month tier, a year is whole calendar months plus day, hour and minute edges', () => {
    const segments = planSegments({ fromMs: at('2025-11-22T10:21:00Z'), toMs: at('2026-11-21T16:43:00Z') }, 'month');
    expect(segments).toEqual([
      { tier: 'minute', fromMs: at('2025-11-22T10:21:00Z'), toMs: at('2025-11-22T11:00:00Z') },
      { tier: 'hour', fromMs: at('2025-11-22T11:00:00Z'), toMs: at('2025-11-23T00:00:00Z') },
      { tier: 'day', fromMs: at('2025-11-23T00:00:00Z'), toMs: at('2025-12-01T00:00:00Z') },
      { tier: 'month', fromMs: at('2025-12-01T00:00:00Z'), toMs: at('2026-11-01T00:00:00Z') },
      { tier: 'day', fromMs: at('2026-11-01T00:00:00Z'), toMs: at('2026-11-21T00:00:00Z') },
      { tier: 'hour', fromMs: at('2026-11-21T00:00:00Z'), toMs: at('2026-11-21T16:00:00Z') },
      { tier: 'minute', fromMs: at('2026-11-21T16:00:00Z'), toMs: at('2026-11-21T16:43:00Z') },
    ]);
    // Edges on month starts, and a range inside one month (no whole month: days only).
    expect(planSegments({ fromMs: at('2026-02-01T00:00:00Z'), toMs: at('2026-03-01T00:00:00Z') }, 'month')).toEqual([{ tier: 'month', fromMs: at('2026-02-01T00:00:00Z'), toMs: at('2026-03-01T00:00:00Z') }]);
    expect(planSegments({ fromMs: at('2026-02-03T00:00:00Z'), toMs: at('2026-02-27T00:00:00Z') }, 'month')).toEqual([{ tier: 'day', fromMs: at('2026-02-03T00:00:00Z'), toMs: at('2026-02-27T00:00:00Z') }]);
  });

  it('never uses a tier coarser than asked (a step of hours reads hours)', () => {
    const segments = planSegments({ fromMs: at('2026-11-01T00:00:00Z'), toMs: at('2026-11-03T00:00:00Z') }, 'hour');
    expect(segments).toEqual([{ tier: 'hour', fromMs: at('2026-11-01T00:00:00Z'), toMs: at('2026-11-03T00:00:00Z') }]);
  });

  it('a range under an hour reads minutes; an edge inside a minute cannot be answered', () => {
    expect(planSegments({ fromMs: at('2026-11-01T10:05:00Z'), toMs: at('2026-11-01T10:35:00Z') }, 'day')).toEqual([{ tier: 'minute', fromMs: at('2026-11-01T10:05:00Z'), toMs: at('2026-11-01T10:35:00Z') }]);
    expect(planSegments({ fromMs: at('2026-11-01T10:05:30Z'), toMs: at('2026-11-01T10:35:00Z') }, 'day')).toBeNull();
  });

  it('minute segments older than the minute tier keeps are refused', () => {
    const now = at('2026-11-21T12:00:00Z');
    const recent = planSegments({ fromMs: at('2026-11-20T10:05:00Z'), toMs: at('2026-11-21T10:35:00Z') }, 'day')!;
    const old = planSegments({ fromMs: at('2026-08-20T10:05:00Z'), toMs: at('2026-11-21T10:35:00Z') }, 'day')!;
    expect(minutesKept(recent, SETTINGS, now)).toBe(true);
    expect(minutesKept(old, SETTINGS, now)).toBe(false);
    expect(minutesKept(old, { ...SETTINGS, minuteRetentionDays: 0 }, now)).toBe(true);
  });
});

describe('toRollupWindow', () => {
  const now = at('2026-11-21T12:00:00Z');

  it('widens to whole minutes while the minute tier keeps both edges', () => {
    const window = toRollupWindow({ fromMs: at('2026-11-20T10:05:30Z'), toMs: at('2026-11-21T11:59:10Z') }, SETTINGS, now);
    expect(window).toEqual({ fromMs: at('2026-11-20T10:05:00Z'), toMs: at('2026-11-21T12:00:00Z') });
  });

  it('widens an edge the minute tier no longer keeps to the whole hour, so the rollups still answer', () => {
    const window = toRollupWindow({ fromMs: at('2025-11-21T11:59:10Z'), toMs: at('2026-11-21T11:59:10Z') }, SETTINGS, now);
    expect(window).toEqual({ fromMs: at('2025-11-21T11:00:00Z'), toMs: at('2026-11-21T12:00:00Z') });
    expect(minutesKept(planSegments(window, 'day')!, SETTINGS, now)).toBe(true);
    // Kept forever: minutes stay minutes however old.
    expect(toRollupWindow({ fromMs: at('2025-11-21T11:59:10Z'), toMs: now }, { ...SETTINGS, minuteRetentionDays: 0 }, now).fromMs).toBe(at('2025-11-21T11:59:00Z'));
  });

  it('widens both edges of an old window to hours', () => {
    const window = toRollupWindow({ fromMs: at('2026-03-02T07:13:00Z'), toMs: at('2026-03-04T16:47:00Z') }, SETTINGS, now);
    expect(window).toEqual({ fromMs: at('2026-03-02T07:00:00Z'), toMs: at('2026-03-04T17:00:00Z') });
  });
});

describe('dimensionOf', () => {
  it('one job, host or rolled-up label is a dimension; none is all', () => {
    expect(dimensionOf({}, SETTINGS)).toEqual({ dimension: 'all', value: '' });
    expect(dimensionOf({ job: 'a', status: 'failed' }, SETTINGS)).toEqual({ dimension: 'job', value: 'a' });
    expect(dimensionOf({ label: [{ key: 'region', value: 'eu' }] }, SETTINGS)).toEqual({ dimension: 'label.region', value: 'eu' });
  });

  it('two dimensions, a label not rolled up or an empty label value cannot be answered', () => {
    expect(dimensionOf({ job: 'a', host: 'h' }, SETTINGS)).toBeNull();
    expect(dimensionOf({ label: [{ key: 'team', value: 'x' }] }, SETTINGS)).toBeNull();
    expect(dimensionOf({ label: [{ key: 'region', value: '' }] }, SETTINGS)).toBeNull();
  });
});

describe('auto step', () => {
  const DAY = 86_400_000;
  const stepFor = (days: number) => pickStep({ step: 'auto' }, { fromMs: at('2026-01-01T00:00:00Z'), toMs: at('2026-01-01T00:00:00Z') + days * DAY });
  it('is the smallest step under 1,500 points up to about two days of minutes', () => {
    expect(stepFor(1)).toBe(60);
    expect(stepFor(2)).toBe(120);
    expect(coarsestTierForStep(stepFor(2), SETTINGS)).toBe('minute');
  });
  it('is whole hours (the hour tier) beyond two days while 1 h steps fit', () => {
    for (const days of [2.1, 7, 30, 62]) {
      expect(stepFor(days)).toBe(3600);
      expect(coarsestTierForStep(stepFor(days), SETTINGS)).toBe('hour');
    }
  });
  it('is whole days (the day tier) once 1 h steps would give more than 1,500 points', () => {
    for (const days of [63, 90, 365, 1000]) {
      expect(stepFor(days)).toBe(86_400);
      expect(coarsestTierForStep(stepFor(days), SETTINGS)).toBe('day');
    }
    expect(stepFor(5 * 365)).toBe(604_800);
  });
});

describe('the duration series source table', () => {
  const rollups = { settings: SETTINGS, watermarkMs: async () => null };
  const year = { fromMs: at('2025-11-22T00:00:00Z'), toMs: at('2026-11-21T00:00:00Z') };
  const durationQuery = (stepSeconds: number, filters: Record<string, string>) =>
    rollupQuery({ metric: 'duration', range: year, stepSeconds, filters, leaf: null }, rollups, at('2026-11-21T12:00:00Z'))!.text;

  it('reads whole days without a status filter from rollup_durations_day (states summed over statuses)', () => {
    const text = durationQuery(86_400, {});
    expect(text).toContain('FROM rollup_durations_day');
    expect(text).not.toContain('rollup_runs_day');
    const byJob = durationQuery(86_400, { job: 'alpha' });
    expect(byJob).toContain('FROM rollup_durations_day');
    expect(byJob).toContain("dimension = 'job' AND value = 'alpha'");
  });

  it('reads the day tier with a status filter, and hours from the hour tier', () => {
    const withStatus = durationQuery(86_400, { status: 'failed' });
    expect(withStatus).toContain('FROM rollup_runs_day');
    expect(withStatus).toContain("status = 'failed'");
    expect(withStatus).not.toContain('rollup_durations_day');
    expect(durationQuery(3600, {})).not.toContain('rollup_durations_day');
  });
});
