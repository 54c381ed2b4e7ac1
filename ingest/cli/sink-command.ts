// `runlens sink`: Kafka run-events topic → ClickHouse, until SIGINT/SIGTERM.
import { parseIngestConfig } from '../config.ts';
import { startSink } from '../sink/start-sink.ts';
import { parseCommandArgs, type Command } from './command.ts';

export const sinkCommand: Command = {
  name: 'sink',
  summary: 'consume the run-events topic into ClickHouse (runs, ingest_errors)',
  help: `usage: runlens sink

Reads the run-events topic as consumer group RUNLENS_KAFKA_SINK_GROUP and inserts into
ClickHouse in batches (every RUNLENS_SINK_FLUSH_MS ms, default 200, or every
RUNLENS_SINK_MAX_BATCH messages). Offsets are committed only after the insert. Run as many
as there are partitions to scale out. Stops cleanly on SIGINT/SIGTERM (stores, commits).`,
  async run(argv, io) {
    parseCommandArgs(argv, {}, false);
    const config = parseIngestConfig();
    const sink = await startSink(config, { log: io.err });
    io.err(`sink: consuming ${config.kafka.topic} into ${config.clickhouse.database} (group ${config.kafka.sinkGroup})`);
    await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
    await sink.stop();
    io.err(`sink: stopped after ${sink.stats.runs} runs, ${sink.stats.ingestErrors} ingest errors in ${sink.stats.batches} batches`);
    return 0;
  },
};
