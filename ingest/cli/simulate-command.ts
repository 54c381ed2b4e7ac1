// `runlens simulate <root>`: write a realistic run tree at a given rate.
import { intOption, parseCommandArgs, UsageError, type Command } from './command.ts';
import { simulate } from '../simulate/simulator.ts';
import { generateTree } from '../simulate/generate-tree.ts';
import { durationOption } from '../watch/units.ts';

const help = `usage: runlens simulate <root> [options]

Writes runs under <root>/YYYY-MM-DD/<key>/ as the real scripts do: run.json "running",
later result.json and the final run.json (succeeded, failed, timeout, cancelled), reruns
with attempt+1 rewriting the same directory (sometimes in an older day folder), labels,
started_at sometimes with an offset, and now and then a half-written file completed
shortly after. Plain writes, never atomic. The same --seed gives the same runs.

arguments:
  <root>                 where to write the tree (created if missing)

options:
  --rate <n>             new runs per second (default 50)
  --duration <duration>  stop starting runs after this long (default 60s)
  --runs <n>             or after this many runs
  --days <n>             reruns reach back this many day folders (default 3)
  --seed <n>             random seed (default 1)
  --time-scale <x>       multiplies run durations and rerun delays (default 1)
  --finished             write a finished tree of --runs runs over --days days at once
                         (as fast as the disk allows), then exit
  -h, --help             this text`;

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'write a realistic run tree at a given rate (or a finished one at once)',
  help,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      rate: { type: 'string' },
      duration: { type: 'string' },
      runs: { type: 'string' },
      days: { type: 'string' },
      seed: { type: 'string' },
      'time-scale': { type: 'string' },
      finished: { type: 'boolean', default: false },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one <root> (see runlens simulate --help)');
    const root = positionals[0]!;
    const days = intOption('days', values.days, 3, 1);
    const seed = intOption('seed', values.seed, 1, 0);
    const startedAt = Date.now();
    if (values.finished) {
      const runs = intOption('runs', values.runs, 10_000, 1);
      const expected = generateTree({ root, runs, days, seed });
      io.out(`simulate: wrote ${expected.size} runs over ${days} days in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
      return 0;
    }
    const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
    if (!(timeScale > 0)) throw new UsageError(`--time-scale must be a positive number, got "${values['time-scale']}"`);
    const summary = await simulate({
      root,
      rate: intOption('rate', values.rate, 50, 1),
      durationMs: values.runs !== undefined && values.duration === undefined ? Number.POSITIVE_INFINITY : durationOption('duration', values.duration, 60_000),
      runs: intOption('runs', values.runs, Number.MAX_SAFE_INTEGER, 1),
      days,
      seed,
      timeScale,
      signal: io.signal,
    });
    io.out(
      `simulate: ${summary.started} runs started, ${summary.finished} finished, ${summary.reruns} reruns, ` +
        `${summary.halfWritten} half-written files, ${summary.filesWritten} files in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    );
    return 0;
  },
};
