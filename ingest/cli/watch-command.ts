// `runlens watch <root>`: publish every run of a run tree, then follow it live.
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseIngestConfig } from '../config.ts';
import { createPublisher } from '../publish/publisher.ts';
import { openCheckpointStore, rootHash } from '../watch/checkpoint-store.ts';
import { createProgressReporter } from '../watch/progress.ts';
import { defaultIngestorOptions } from '../watch/run-ingestor.ts';
import { defaultWatchOptions, runWatch, type WatchSummary } from '../watch/watch-loop.ts';
import { intOption, parseCommandArgs, UsageError, type Command } from './command.ts';
import { durationOption, sizeOption } from '../watch/units.ts';

const help = `usage: runlens watch <root> [options]

Publishes every run under <root> (day folders YYYY-MM-DD, one directory per run), then
follows the tree: a new or rewritten file is published within a second. A checkpoint in
RUNLENS_CHECKPOINT_DIR (one folder per root) records what was published, so a restart
publishes only what changed. Half-written or invalid files are read again a few times,
then reported as ingest errors; symbolic links are never followed (a linked run
directory is reported, a linked file or day folder ignored); folders that are not
calendar dates and files that are not *.json are ignored.

arguments:
  <root>                       the run tree

options:
  --once                       scan everything, publish, wait for the acks, print a
                               summary and exit 0
  --scan-interval <duration>   reconciliation scan of the active days (default 30s)
  --active-window <duration>   a day folder changed within this long is watched and
                               scanned every interval (default 10m; today and
                               yesterday UTC always are)
  --cold-days-per-scan <n>     other day folders re-checked per scan, in rotation, to
                               find reruns rewritten in place in old days (default 1)
  --max-watches <n>            inotify watches on run directories at most (default 8192)
  --batch-size <n>             events per publish call (default 1000)
  --max-in-flight <n>          publish calls awaiting acks at once (default 4)
  --max-file-size <size>       larger files are reported invalid, never read (default 16MB)
  -h, --help                   this text

durations: 500ms, 30s, 10m, 1h; sizes: 65536, 512KB, 16MB.
Kafka, topic and directories come from RUNLENS_* (see ingest/config.ts).`;

export const watchCommand: Command = {
  name: 'watch',
  summary: 'publish a run tree and follow it live (--once: backfill and exit)',
  help,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      once: { type: 'boolean', default: false },
      'scan-interval': { type: 'string' },
      'active-window': { type: 'string' },
      'cold-days-per-scan': { type: 'string' },
      'max-watches': { type: 'string' },
      'batch-size': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'max-file-size': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one <root> (see runlens watch --help)');
    const root = resolveRoot(positionals[0]!);
    const options = {
      root,
      once: values.once ?? false,
      scanIntervalMs: durationOption('scan-interval', values['scan-interval'], defaultWatchOptions.scanIntervalMs),
      activeWindowMs: durationOption('active-window', values['active-window'], defaultWatchOptions.activeWindowMs),
      coldDaysPerScan: intOption('cold-days-per-scan', values['cold-days-per-scan'], defaultWatchOptions.coldDaysPerScan, 0),
      maxRunDirWatches: intOption('max-watches', values['max-watches'], defaultWatchOptions.maxRunDirWatches, 0),
      readLimits: { maxFileBytes: sizeOption('max-file-size', values['max-file-size'], defaultWatchOptions.readLimits.maxFileBytes) },
      ingestor: {
        batchSize: intOption('batch-size', values['batch-size'], defaultIngestorOptions.batchSize, 1),
        maxInFlight: intOption('max-in-flight', values['max-in-flight'], defaultIngestorOptions.maxInFlight, 1),
      },
    };

    const config = parseIngestConfig();
    const log = (line: string) => io.err(line);
    const checkpoint = openCheckpointStore({ checkpointDir: config.checkpointDir, root, log });
    // One spool per watched root: a spool has one writer, and two watchers may run at once.
    const spoolDir = join(config.spoolDir, `watch-${rootHash(root)}`);
    const publisher = await createPublisher(config, { log, spoolDir, spoolMode: 'eager' });
    const stderr = process.stderr;
    const progress = createProgressReporter({ write: (text) => stderr.write(text), isTTY: stderr.isTTY === true, now: Date.now });
    let summary: WatchSummary;
    try {
      if (!options.once) io.err(`watch: following ${root} (checkpoint ${checkpoint.directory})`);
      summary = await runWatch({ options, publisher, checkpoint, log, progress, signal: io.signal });
    } finally {
      await publisher.close();
    }
    io.out(
      `watch: ${summary.published} runs published, ${summary.unchanged} unchanged, ${summary.errors} errors reported, ` +
        `${summary.examined} examined in ${(summary.elapsedMs / 1000).toFixed(1)} s (${summary.runsPerSecond} runs/s)`,
    );
    return 0;
  },
};

function resolveRoot(path: string): string {
  let root: string;
  try {
    root = realpathSync(path);
  } catch {
    throw new UsageError(`<root> ${path} does not exist`);
  }
  if (!statSync(root).isDirectory()) throw new UsageError(`<root> ${path} is not a directory`);
  return root;
}
