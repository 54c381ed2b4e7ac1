// `runlens rebuild --from D --to D`: recomputes every rollup for a range of run_dates.
import { createClickHouseClient } from '../../clickhouse/clickhouse-client.ts';
import { parseIngestConfig } from '../config.ts';
import { rebuildRollups } from '../rollup/rebuild.ts';
import { parseCommandArgs, UsageError, type Command } from './command.ts';

export const rebuildCommand: Command = {
  name: 'rebuild',
  summary: 'recompute every rollup for a range of run_dates from runs',
  help: `usage: runlens rebuild --from YYYY-MM-DD --to YYYY-MM-DD

Recomputes the rollup tables (runs and metrics; minute, hour, day) for run_dates in
[--from, --to) from the deduplicated runs table, one run_date at a time, printing progress.
Use it after adding a rollup or changing RUNLENS_ROLLUP_LABEL_KEYS, or to repair.
Safe while the sink runs: it asks the rollup maintainer to pause (writer lock) and the
maintainer resumes afterwards. Months whose raw runs retention dropped are skipped (their
rollups are all that is left).

environment: RUNLENS_CLICKHOUSE_* (ingest user for data, admin user for the lock),
RUNLENS_ROLLUP_LABEL_KEYS, RUNLENS_RETENTION_*_DAYS`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { from: { type: 'string' }, to: { type: 'string' } }, false);
    const from = dateOption('from', values.from);
    const to = dateOption('to', values.to);
    if (to <= from) throw new UsageError(`--to (${to}) must be after --from (${from}); the range is [from, to)`);
    const config = parseIngestConfig();
    const clickhouse = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.ingest, requestTimeoutMs: 600_000 });
    const admin = createClickHouseClient({ url: config.clickhouse.url, ...config.clickhouse.admin });
    const started = Date.now();
    try {
      const result = await rebuildRollups({
        clickhouse,
        admin,
        database: config.clickhouse.database,
        labelKeys: config.rollup.labelKeys,
        retention: config.rollup.retention,
        from,
        to,
        signal: io.signal,
        progress: (event) => {
          if (event.kind === 'start') io.out(`rebuild: ${event.runDates} run_dates with data in [${from}, ${to})`);
          else io.out(`  ${event.runDate}  ${event.skipped ? 'skipped (raw runs dropped by retention)' : `rebuilt in ${event.ms} ms`}  [${event.index}/${event.runDates}]`);
        },
      });
      io.out(`rebuild: ${result.rebuilt} run_dates rebuilt, ${result.skipped} skipped, in ${((Date.now() - started) / 1000).toFixed(1)} s${io.signal.aborted ? ' (interrupted)' : ''}`);
      return io.signal.aborted ? 130 : 0;
    } finally {
      await clickhouse.close();
      await admin.close();
    }
  },
};

function dateOption(name: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`--${name} YYYY-MM-DD is required`);
  const parsed = new Date(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(parsed.getTime()) || !parsed.toISOString().startsWith(value)) {
    throw new UsageError(`--${name} must be a date as YYYY-MM-DD, got "${value}"`);
  }
  return value;
}
