// What every `runlens <command>` module exports, and the one error type that turns a user
// mistake into a single line on stderr and exit code 2 instead of a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM: long-running commands flush, close and return. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  /** Full `--help` text: usage line, arguments, options with defaults. */
  help: string;
  /** Returns the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** node:util parseArgs, with its errors reworded as UsageError. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A whole number option, with the option's name in the error. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${value}"`);
  return parsed;
}
