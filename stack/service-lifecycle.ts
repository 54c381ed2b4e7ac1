// Start / stop / status for one ManagedService, by PID file. "Running" means all
// three: our PID file, that process alive with our config on its command line, and
// the service answering. Anything less is handled here, once, for both services.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isPortOpen } from './port-probe.ts';
import { isAlive, readOwnPid, removePidFile, spawnDaemon, stopProcess } from './process-control.ts';
import { StackError } from './errors.ts';
import type { Log } from './run-command.ts';
import type { ManagedService } from './service.ts';
import { waitUntil } from './wait-until.ts';

export async function ensureRunning(
  service: ManagedService,
  { log, timeoutMs }: { log: Log; timeoutMs: number },
): Promise<{ pid: number; started: boolean }> {
  const started = Date.now();
  let pid = readOwnPid(service.daemon.pidFile, service.commandMarker);
  const files = service.renderFiles();
  // A running server keeps the config (ports, paths) and jars it started with. If
  // those changed, "already running" would be a lie: e.g. after a port change its
  // health check could even reach a stranger on the new port. Restart it instead.
  if (pid !== null) {
    const changed = files.filter((f) => !f.hotReloaded && readOrNull(f.path) !== f.content).map((f) => f.path);
    if (!service.isInstalled()) changed.push('installed version');
    if (changed.length > 0) {
      log(`${service.name}: restarting to apply changes to ${changed.join(', ')}`);
      await stop(service, { log });
      pid = null;
    }
  }
  if (!service.isInstalled()) await service.install(log);
  for (const file of files) {
    if (readOrNull(file.path) === file.content) continue;
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
  }
  await service.prepareStorage(log);
  const spawned = pid === null;
  if (pid === null) {
    removePidFile(service.daemon.pidFile); // stale: the process is gone or is someone else's
    for (const port of service.ports) {
      if (await isPortOpen(port)) {
        throw new StackError(
          service.name,
          `port ${port} is already in use by a process runlens did not start ` +
            `(find it with: ss -ltnp 'sport = :${port}'); stop it or move the stack with RUNLENS_* port variables`,
        );
      }
    }
    pid = spawnDaemon(service.daemon);
    log(`${service.name}: started pid ${pid}, waiting until it answers`);
  }
  const ownPid = pid;
  const result = await waitUntil(service.probe, {
    timeoutMs,
    abortIf: () => (isAlive(ownPid) ? null : `process ${ownPid} exited during startup`),
  });
  if (!result.ok) {
    if (!isAlive(ownPid)) removePidFile(service.daemon.pidFile);
    throw new StackError(service.name, `did not become healthy: ${result.reason}`, service.logFiles);
  }
  try {
    await service.afterHealthy(log);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StackError(service.name, `is up but its setup step failed: ${reason}`, service.logFiles, { cause: error });
  }
  const how = spawned ? `ready in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'already running';
  log(`${service.name}: up at ${service.endpoint} (pid ${ownPid}, ${how})`);
  return { pid: ownPid, started: spawned };
}

export async function stop(
  service: ManagedService,
  { log, signal = 'SIGTERM' }: { log: Log; signal?: NodeJS.Signals },
): Promise<'exited' | 'killed' | 'not-running'> {
  const pid = readOwnPid(service.daemon.pidFile, service.commandMarker);
  if (pid === null) {
    removePidFile(service.daemon.pidFile);
    return 'not-running';
  }
  log(`${service.name}: sending ${signal} to pid ${pid}`);
  const outcome = await stopProcess(pid, signal, service.stopGraceMs);
  removePidFile(service.daemon.pidFile);
  if (outcome === 'killed') log(`${service.name}: did not exit within ${service.stopGraceMs} ms, killed`);
  else log(`${service.name}: stopped`);
  return outcome;
}

export async function status(service: ManagedService): Promise<{ up: boolean; pid: number | null }> {
  const pid = readOwnPid(service.daemon.pidFile, service.commandMarker);
  if (pid === null) return { up: false, pid: null };
  return { up: (await service.probe()).ok, pid };
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
