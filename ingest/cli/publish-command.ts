// `runlens publish`: what a script (or an operator) runs to publish one run directly,
// without waiting for the watcher, and `runlens publish --drain` to empty the spool.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseIngestConfig } from '../config.ts';
import { RunDirectoryError } from '../publish/errors.ts';
import { buildPublishedEvent } from '../publish/publish-run-directory.ts';
import { createPublisher, type PublishReceipt } from '../publish/publisher.ts';
import { intOption, parseCommandArgs, UsageError, type Command } from './command.ts';

const help = `usage: runlens publish --date YYYY-MM-DD --key KEY (--dir DIR | --file NAME=PATH ...)
       runlens publish --drain

Publishes one run to Kafka, built from its files exactly as the watcher would build it.
If Kafka cannot be reached, the run is fsynced to the local spool and sent later; either
way the command exits 0 only once the run is durable. Prints one line:
  published 2026-11-21/acct-1.sync attempt 2 (kafka)
  published 2026-11-21/acct-1.sync attempt 2 (spooled: kafka unreachable)

options:
  --date YYYY-MM-DD    the run's partition date (its folder name under the run tree)
  --key KEY            the run's key (its directory name); must equal run.json's "key"
  --dir DIR            publish every *.json file of DIR (run.json required)
  --file NAME=PATH     publish PATH under the file name NAME (PATH alone: its base name);
                       repeat for several files
  --origin TEXT        who publishes, kept on the event (default: DIR, or "runlens publish")
  --drain              send everything waiting in the spool, print how many, exit
                       (0 when the spool is empty afterwards, 1 otherwise)
  --timeout-ms N       how long --drain may take (default 60000)

environment: RUNLENS_KAFKA_BROKERS, RUNLENS_KAFKA_TOPIC, RUNLENS_SPOOL_DIR, RUNLENS_STATE_DIR
exit codes: 0 published (or drained), 1 not durable (e.g. spool disk full), 2 bad input`;

export const publishCommand: Command = {
  name: 'publish',
  summary: 'publish one run (its run.json and result files) to Kafka, or drain the spool',
  help,
  async run(argv, io) {
    const { values } = parseCommandArgs(
      argv,
      {
        date: { type: 'string' },
        key: { type: 'string' },
        dir: { type: 'string' },
        file: { type: 'string', multiple: true },
        origin: { type: 'string' },
        drain: { type: 'boolean' },
        'timeout-ms': { type: 'string' },
      },
      false,
    );
    const config = parseIngestConfig();

    if (values.drain) {
      if (values.date || values.key || values.dir || values.file) throw new UsageError('--drain takes no run (--date/--key/--dir/--file)');
      const timeoutMs = intOption('timeout-ms', values['timeout-ms'], 60_000, 1);
      const publisher = await createPublisher(config, { spoolMode: 'lazy', log: io.err });
      try {
        const { sent, remaining } = await publisher.drain({ timeoutMs });
        io.out(`drained ${sent} event(s) from ${config.spoolDir}; ${remaining} remain`);
        return remaining === 0 ? 0 : 1;
      } finally {
        await publisher.close();
      }
    }

    if (!values.date) throw new UsageError('--date is required (the run\'s partition, YYYY-MM-DD)');
    if (!values.key) throw new UsageError('--key is required (the run\'s directory name)');
    if (values.dir && values.file) throw new UsageError('give either --dir or --file, not both');
    if (!values.dir && !values.file) throw new UsageError('give the run\'s files: --dir DIR or --file run.json=PATH');
    const files = values.dir ? await readRunDirectory(values.dir) : await readNamedFiles(values.file ?? []);
    const origin = values.origin ?? values.dir ?? 'runlens publish';

    // Built before connecting: bad input is exit 2 without touching Kafka or the spool.
    let event;
    try {
      event = buildPublishedEvent({ runDate: values.date, key: values.key, files, origin }, Date.now());
    } catch (error) {
      if (error instanceof RunDirectoryError) throw new UsageError(error.message);
      throw error;
    }
    const publisher = await createPublisher(config, { spoolMode: 'lazy' });
    try {
      const receipt = await publisher.publishWithReceipt([event]);
      io.out(`published ${event.run_date}/${event.key} attempt ${event.attempt} (${describe(receipt)})`);
      if (receipt.route === 'spool' && receipt.reason === 'earlier events are still spooled') {
        // Kafka may be back: move the backlog along while we are here (bounded).
        const { remaining } = await publisher.drain({ timeoutMs: 10_000 }).catch((error: unknown) => {
          io.err(`runlens publish: the spool still holds ${publisher.depth().records} event(s): ${(error as Error).message}`);
          return { remaining: publisher.depth().records };
        });
        if (remaining === 0) io.err('runlens publish: the spool is drained');
      }
      return 0;
    } finally {
      await publisher.close();
    }
  },
};

function describe(receipt: PublishReceipt): string {
  return receipt.route === 'kafka' ? 'kafka' : `spooled: ${receipt.reason}`;
}

async function readRunDirectory(dir: string): Promise<Record<string, Buffer>> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(`--dir ${dir}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`);
  }
  const files: Record<string, Buffer> = {};
  for (const entry of entries) {
    if (entry.isFile() && entry.name.endsWith('.json')) files[entry.name] = await readFile(join(dir, entry.name));
  }
  if (Object.keys(files).length === 0) throw new UsageError(`--dir ${dir}: no *.json files in it`);
  return files;
}

async function readNamedFiles(specs: readonly string[]): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const spec of specs) {
    const at = spec.indexOf('=');
    const [name, path] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [basename(spec), spec];
    if (!path) throw new UsageError(`--file ${spec}: expected NAME=PATH`);
    if (name in files) throw new UsageError(`--file ${spec}: ${name} is given twice`);
    try {
      files[name] = await readFile(path);
    } catch (error) {
      throw new UsageError(`--file ${spec}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
  }
  return files;
}
