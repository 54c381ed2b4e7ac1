// What the lifecycle code needs to know about one daemon. clickhouse-service.ts and
// kafka-service.ts each build one; service-lifecycle.ts runs either the same way.
import type { ServiceName } from './errors.ts';
import type { DaemonSpec } from './process-control.ts';
import type { Log } from './run-command.ts';
import type { Probe } from './wait-until.ts';

export type RenderedFile = {
  path: string;
  content: string;
  /** The running server re-reads it (ClickHouse users.xml): a change needs no restart. */
  hotReloaded?: boolean;
};

export type ManagedService = Readonly<{
  name: ServiceName;
  /** Where clients connect: shown in progress lines and status. */
  endpoint: string;
  /** False when binaries/jars are missing or out of date (e.g. the pom changed). */
  isInstalled: () => boolean;
  install: (log: Log) => Promise<void>;
  /** Config files as they should be; the lifecycle writes them and restarts on change. */
  renderFiles: () => RenderedFile[];
  /** Directories, first-time storage formatting. Idempotent; runs before spawn. */
  prepareStorage: (log: Log) => Promise<void>;
  daemon: DaemonSpec;
  /** A substring of the daemon's command line (its config path), to tell our PID from a reused one. */
  commandMarker: string;
  /** Must be free before we spawn: a foreign process there would answer our health check. */
  ports: readonly number[];
  /** Healthy = answers a real request as a real client would. */
  probe: Probe;
  /** Runs once healthy on every `up`: database, topic. Idempotent. */
  afterHealthy: (log: Log) => Promise<void>;
  /** Files to read when it fails. */
  logFiles: readonly string[];
  /** SIGTERM grace before SIGKILL. */
  stopGraceMs: number;
}>;
