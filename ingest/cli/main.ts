// `runlens <command> [options]`: finds the command, wires SIGINT/SIGTERM to an abort signal,
// and prints user mistakes as one line with exit code 2.
import type { Command, CliIo } from './command.ts';
import { UsageError } from './command.ts';
import { ConfigError } from '../config.ts';

// Loaded lazily: `runlens --help` must not pay for kafkajs and the ClickHouse client.
const commands: Record<string, () => Promise<Command>> = {
  stack: async () => (await import('./stack-command.ts')).stackCommand,
  migrate: async () => (await import('./migrate-command.ts')).migrateCommand,
  watch: async () => (await import('./watch-command.ts')).watchCommand,
  publish: async () => (await import('./publish-command.ts')).publishCommand,
  simulate: async () => (await import('./simulate-command.ts')).simulateCommand,
  sink: async () => (await import('./sink-command.ts')).sinkCommand,
  rebuild: async () => (await import('./rebuild-command.ts')).rebuildCommand,
  demo: async () => (await import('./demo-command.ts')).demoCommand,
  api: async () => (await import('./api-command.ts')).apiCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const io = consoleIo();
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(await overview());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    io.err(`runlens: unknown command "${name}" (try: runlens --help)`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.err(`runlens ${name}: ${error.message}`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`runlens ${name}: ${message}`);
    if (process.env['RUNLENS_DEBUG']) io.err(String((error as Error).stack));
    return 1;
  }
}

async function overview(): Promise<string> {
  const lines = ['usage: runlens <command> [options]   (runlens <command> --help for details)', '', 'commands:'];
  for (const load of Object.values(commands)) {
    const command = await load();
    lines.push(`  ${command.name.padEnd(10)} ${command.summary}`);
  }
  return lines.join('\n');
}

function consoleIo(): CliIo {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C means now
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    signal: controller.signal,
  };
}
