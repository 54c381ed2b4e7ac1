// Daemons we own: started detached (they outlive `runlens stack up` and the vitest
// process), their PID in a file we wrote, and stopped by that PID only. We never
// look processes up by name: another worktree's stack or a hand-started broker may
// be running the very same command line.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export type DaemonSpec = {
  command: string;
  args: readonly string[];
  cwd: string;
  /** stdout and stderr both go here, appended: crashes print only there. */
  outputFile: string;
  pidFile: string;
};

export function spawnDaemon(spec: DaemonSpec): number {
  const fd = openSync(spec.outputFile, 'a');
  try {
    writeSync(fd, `\n--- ${new Date().toISOString()} starting ${spec.command} ---\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      detached: true, // own process group: a Ctrl-C in the CLI's terminal must not kill it
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${spec.command}`);
    // Keep the exit event quiet (the child outlives us) but let libuv reap it if we
    // are still around when it dies, so a SIGKILLed daemon does not linger as a zombie.
    child.on('error', () => {});
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/**
 * The PID in `pidFile` if that process is alive *and* is the one we started (its
 * command line contains `marker`, our config file path). Guards against PID reuse
 * after a reboot left a stale file behind.
 */
export function readOwnPid(pidFile: string, marker: string): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(marker) ? pid : null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child of a still-running process is a zombie until reaped: dead to us.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Sends `signal`, waits up to `graceMs` for the process to exit, then SIGKILLs it.
 * Resolves once the process is gone; returns how it ended.
 */
export async function stopProcess(
  pid: number,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<'exited' | 'killed' | 'not-running'> {
  if (!isAlive(pid)) return 'not-running';
  try {
    process.kill(pid, signal);
  } catch {
    return 'not-running'; // exited between the check and the signal
  }
  if (await waitForExit(pid, signal === 'SIGKILL' ? 10_000 : graceMs)) return 'exited';
  process.kill(pid, 'SIGKILL');
  if (await waitForExit(pid, 10_000)) return 'killed';
  throw new Error(`process ${pid} survived SIGKILL`);
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

export function removePidFile(pidFile: string): void {
  rmSync(pidFile, { force: true });
}
