// apt-get for the few system packages the stack needs (ClickHouse; Java and Maven
// for Kafka). `apt-get update` runs at most once per process: it is the slow part,
// and two missing packages should not pay for it twice.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { StackError, type ServiceName } from './errors.ts';
import { runCommand, type Log } from './run-command.ts';

let updated = false;
// ClickHouse and Kafka are brought up concurrently; dpkg holds a lock, so their
// installs take turns instead of the second failing on "could not get lock".
let queue: Promise<unknown> = Promise.resolve();

export function aptInstall(
  service: ServiceName,
  packages: readonly string[],
  options: { log: Log; stateDir: string },
): Promise<void> {
  const next = queue.then(() => install(service, packages, options));
  queue = next.catch(() => {});
  return next;
}

async function install(
  service: ServiceName,
  packages: readonly string[],
  { log, stateDir }: { log: Log; stateDir: string },
): Promise<void> {
  const hint = `sudo apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    // Not prompting for sudo in the middle of `npm test`: say what to run instead.
    throw new StackError(service, `missing system packages and installing them needs root; run: ${hint}`);
  }
  mkdirSync(stateDir, { recursive: true });
  const logFile = join(stateDir, 'apt.log');
  log(`${service}: installing ${packages.join(' ')} with apt-get`);
  // `env` sets DEBIAN_FRONTEND for apt without touching our own environment.
  const steps: Array<readonly string[]> = [
    ...(updated ? [] : [['apt-get', 'update']]),
    ['DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', ...packages],
  ];
  for (const args of steps) {
    const { code } = await runCommand('env', args, { log, logFile, label: 'apt-get' });
    if (code !== 0) throw new StackError(service, `\`${args.join(' ')}\` failed with exit code ${code}`, [logFile]);
    if (args[0] === 'apt-get') updated = true;
  }
}
