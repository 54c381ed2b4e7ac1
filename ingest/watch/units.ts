// `--scan-interval 30s`, `--max-file-size 16MB`: options with units, errors naming the option.
import { UsageError } from '../cli/command.ts';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

export function durationOption(name: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw new UsageError(`--${name} must be a duration like 500ms, 30s, 10m or 1h, got "${value}"`);
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2]!]!);
}

export function sizeOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(value.trim());
  if (!match) throw new UsageError(`--${name} must be a size like 65536, 512KB or 16MB, got "${value}"`);
  return Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]!;
}
