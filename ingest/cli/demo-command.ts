// `runlens demo`: the main job on one machine. Brings up the local stack, applies the
// migrations, then runs each runlens process as its own child (sink, simulated run tree,
// watcher, API + dashboard), exactly as they would run in production, and says where to look.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackUp } from '../../stack/stack.ts';
import { parseIngestConfig } from '../config.ts';
import { parseCommandArgs, type Command } from './command.ts';
import { migrateCommand } from './migrate-command.ts';

const runlensBin = fileURLToPath(new URL('../../stack/runlens.mjs', import.meta.url));

export const demoCommand: Command = {
  name: 'demo',
  summary: 'stack + migrations + sink + simulated tree + watcher + API/dashboard, in one go',
  help: `usage: runlens demo [--rate 20] [--root <dir>] [--no-api]

Starts everything on this machine and keeps it running until Ctrl-C:
  1. the local stack (installs ClickHouse and Kafka on first use)
  2. the ClickHouse migrations
  3. runlens sink      Kafka → ClickHouse
  4. runlens simulate  a realistic run tree under --root (default .runlens/demo/runs),
                       --rate runs per second (default 20), with 3 days of history first
  5. runlens watch     that tree → Kafka
  6. runlens api       the query API and the dashboard (http://127.0.0.1:18080/)
Each child's output goes to .runlens/demo/logs/<name>.log.`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      rate: { type: 'string', default: '20' },
      root: { type: 'string' },
      'no-api': { type: 'boolean', default: false },
    }, false);
    const config = parseIngestConfig();
    const demoDir = join(config.stateDir, 'demo');
    const root = values.root ?? join(demoDir, 'runs');
    const logDir = join(demoDir, 'logs');
    mkdirSync(root, { recursive: true });
    mkdirSync(logDir, { recursive: true });

    io.err('[1/6] local stack');
    await stackUp({ log: (line) => io.err(`      ${line}`) });
    io.err('[2/6] migrations');
    const migrated = await migrateCommand.run([], { ...io, out: (line) => io.err(`      ${line}`) });
    if (migrated !== 0) return migrated;

    const children: Array<{ name: string; child: ChildProcess }> = [];
    const start = (step: string, name: string, args: string[]) => {
      io.err(`${step} runlens ${args.join(' ')}   (log: ${join(logDir, `${name}.log`)})`);
      const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
      const child = spawn(process.execPath, [runlensBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      child.on('exit', (code, signal) => {
        if (!io.signal.aborted) io.err(`runlens ${name} exited (${signal ?? code}); see ${join(logDir, `${name}.log`)}`);
      });
      children.push({ name, child });
    };
    start('[3/6]', 'sink', ['sink']);
    io.err(`[4/6] runlens simulate ${root} --finished --runs 5000 --days 3   (history first)`);
    const history = spawn(process.execPath, [runlensBin, 'simulate', root, '--finished', '--runs', '5000', '--days', '3', '--seed', '7'], { stdio: 'ignore' });
    await new Promise((resolve) => history.once('exit', resolve));
    start('      ', 'simulate', ['simulate', root, '--rate', values.rate, '--days', '3', '--duration', '24h', '--seed', String(Date.now() % 100_000)]);
    start('[5/6]', 'watch', ['watch', root]);
    if (!values['no-api']) start('[6/6]', 'api', ['api']);

    io.out('');
    io.out(`runlens is running. Run tree: ${root}`);
    if (!values['no-api']) io.out('Dashboard: http://127.0.0.1:18080/    API: http://127.0.0.1:18080/api/v1/openapi.json');
    io.out(`SQL: clickhouse-client --port 19000 --user sql --password local-sql --database ${config.clickhouse.database}`);
    io.out('Ctrl-C stops the runlens processes (the stack keeps running: runlens stack down).');

    await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
    io.err('stopping…');
    await Promise.all(children.map(({ child }) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    })));
    return 0;
  },
};
