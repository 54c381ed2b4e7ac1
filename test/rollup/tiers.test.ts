import { describe, expect, it } from 'vitest';
import { ConfigError, parseIngestConfig } from '../../ingest/config.ts';
import { isKept, oldestKeptMonth } from '../../ingest/rollup/tiers.ts';

const nov22 = Date.parse('2026-11-22T12:00:00Z');

describe('retention by month', () => {
  it('keeps the month that holds the cutoff and drops the ones before it', () => {
    expect(oldestKeptMonth(60, nov22)).toBe(202609); // cutoff 2026-09-23
    expect(isKept('2026-09-01', 60, nov22)).toBe(true);
    expect(isKept('2026-08-31', 60, nov22)).toBe(false);
  });

  it('keeps everything when the limit is 0', () => {
    expect(oldestKeptMonth(0, nov22)).toBeNull();
    expect(isKept('1999-01-01', 0, nov22)).toBe(true);
  });

  it('crosses a year boundary', () => {
    expect(oldestKeptMonth(400, nov22)).toBe(202510);
  });
});

describe('rollup configuration', () => {
  it('has label keys and a retention where rollups outlive runs by default', () => {
    const config = parseIngestConfig({});
    expect(config.rollup.labelKeys).toEqual(['region', 'tier']);
    expect(config.rollup.retention).toEqual({ runs: 400, minute: 35, hour: 800, day: 0 });
  });

  it('refuses hour rollups that would be dropped before the raw runs they are recomputed from', () => {
    expect(() => parseIngestConfig({ RUNLENS_RETENTION_RUNS_DAYS: '900' })).toThrow(ConfigError);
    expect(() => parseIngestConfig({ RUNLENS_RETENTION_HOUR_DAYS: '0', RUNLENS_RETENTION_DAY_DAYS: '30' })).toThrow(/runs ≤ hour ≤ day/);
  });

  it('refuses a label key that is not one', () => {
    expect(() => parseIngestConfig({ RUNLENS_ROLLUP_LABEL_KEYS: "region,x' OR 1" })).toThrow(ConfigError);
  });
});
