// Runs an installer command (apt-get, mvn) to completion, forwarding its output line
// by line to the caller's log so a 50-second Maven download shows progress instead of
// looking hung, and keeping a copy in a file for the error message to point at.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';

export type Log = (line: string) => void;

export async function runCommand(
  command: string,
  args: readonly string[],
  { log, logFile, cwd, heartbeat, label = basename(command) }: { log: Log; logFile: string; cwd?: string; heartbeat?: string; label?: string },
): Promise<{ code: number }> {
  const file = createWriteStream(logFile, { flags: 'a' });
  file.write(`\n--- ${new Date().toISOString()} ${command} ${args.join(' ')} ---\n`);
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (stream: NodeJS.ReadableStream) =>
    createInterface({ input: stream }).on('line', (raw) => {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, ''); // mvn -q still emits colour resets
      file.write(line + '\n');
      // dpkg's "(Reading database ... 5%" ticker: 20 lines of noise per install.
      if (line.trim() !== '' && !line.startsWith('(Reading database')) log(`  ${label}: ${line}`);
    });
  forward(child.stdout);
  forward(child.stderr);
  // Quiet commands (mvn -q) still show they are alive every 10 s.
  const started = Date.now();
  const timer = heartbeat
    ? setInterval(() => log(`  ${heartbeat} (${Math.round((Date.now() - started) / 1000)} s)`), 10_000)
    : undefined;
  const code = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      file.write(`spawn failed: ${err.message}\n`);
      resolve(127);
    });
    child.once('close', (exitCode) => resolve(exitCode ?? 1));
  });
  clearInterval(timer);
  await new Promise<void>((resolve) => file.end(resolve));
  return { code };
}
