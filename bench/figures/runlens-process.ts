// `runlens <command>` as a child process of the benchmark, as it runs in production: its
// own process (so its RSS and CPU are its own), its output kept for readiness and errors.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const RUNLENS = new URL('../../stack/runlens.mjs', import.meta.url).pathname;

export interface RunlensProcess { child: ChildProcess; output: () => string }

export function startRunlens(args: string[], env: Record<string, string>): RunlensProcess {
  let output = '';
  const child = spawn(process.execPath, [RUNLENS, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  return { child, output: () => output };
}

/** Resolves with the first match of `pattern` in the output; rejects if the process exits first or after `timeoutMs`. */
export async function waitForOutput(process: RunlensProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(process.output());
    if (match) return match;
    if (process.child.exitCode !== null) throw new Error(`runlens ${process.child.spawnargs.slice(2).join(' ')} exited ${process.child.exitCode}: ${process.output().slice(-500)}`);
    if (Date.now() > deadline) throw new Error(`runlens ${process.child.spawnargs.slice(2).join(' ')} did not print ${pattern} within ${timeoutMs} ms: ${process.output().slice(-500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM (a clean stop: the sink stores and commits), SIGKILL after 15 s. */
export async function stopRunlens(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
