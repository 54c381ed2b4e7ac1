// ClickHouse 18.16 as a ManagedService: our config.xml/users.xml, our data dir, our
// process. It runs as the invoking user (root here): 18.16 does not refuse root, and
// keeping the files owned by whoever ran `stack up` means `rm -rf .runlens` works
// without sudo or chown.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { clickhouseQuery, clickhousePing } from './clickhouse-http.ts';
import { renderClickhouseConfig } from './clickhouse-config-xml.ts';
import { clickhouseServerBinary, ensureClickhouseInstalled } from './clickhouse-install.ts';
import { renderClickhouseUsers } from './clickhouse-users-xml.ts';
import type { StackConfig } from './config.ts';
import type { StackPaths } from './paths.ts';
import type { ManagedService } from './service.ts';

export function clickhouseService(config: StackConfig, paths: StackPaths): ManagedService {
  const ch = paths.clickhouse;
  const admin = config.clickhouse.users.admin;
  return {
    name: 'clickhouse',
    endpoint: config.clickhouse.httpUrl,
    isInstalled: () => existsSync(clickhouseServerBinary),
    install: (log) => ensureClickhouseInstalled({ log, stateDir: config.stateDir }),
    renderFiles: () => {
      mkdirSync(ch.dir, { recursive: true });
      return [
        { path: ch.configFile, content: renderClickhouseConfig(config, paths) },
        // Re-read by a running server (see afterHealthy): a change needs no restart.
        { path: ch.usersFile, content: renderClickhouseUsers(config, defaultUserPassword(ch.defaultPasswordFile)), hotReloaded: true },
      ];
    },
    prepareStorage: async () => {
      for (const dir of [ch.dataDir, ch.tmpDir, ch.userFilesDir, ch.formatSchemaDir, ch.logDir]) {
        mkdirSync(dir, { recursive: true });
      }
    },
    daemon: {
      command: clickhouseServerBinary,
      args: [`--config-file=${ch.configFile}`],
      cwd: ch.dir,
      outputFile: ch.stderrFile,
      pidFile: ch.pidFile,
    },
    commandMarker: ch.configFile,
    ports: [config.clickhouse.httpPort, config.clickhouse.tcpPort, config.clickhouse.interserverPort],
    probe: async () => {
      if (!(await clickhousePing(config.clickhouse.httpUrl))) return { ok: false, reason: 'GET /ping does not answer' };
      // /ping has no auth: a SELECT as admin proves users.xml loaded and the profile is valid.
      try {
        const r = await clickhouseQuery(config.clickhouse.httpUrl, admin, 'SELECT 1');
        return r.ok && r.body.trim() === '1' ? { ok: true } : { ok: false, reason: `SELECT 1 as ${admin.name}: HTTP ${r.status} ${r.body.trim()}` };
      } catch (error) {
        return { ok: false, reason: `SELECT 1 as ${admin.name}: ${String(error)}` };
      }
    },
    afterHealthy: async () => {
      // users.xml may have just been rewritten under a running server; its reloader
      // would pick it up within ~2 s, but stackUp returning must mean "the users are
      // as rendered". Synchronous and cheap on 18.16.
      const reload = await clickhouseQuery(config.clickhouse.httpUrl, admin, 'SYSTEM RELOAD CONFIG');
      if (!reload.ok) throw new Error(`SYSTEM RELOAD CONFIG: HTTP ${reload.status} ${reload.body.trim()}`);
      // The users above are scoped to this database, so the stack makes sure it exists;
      // what is inside it belongs to clickhouse/migrations.
      const r = await clickhouseQuery(config.clickhouse.httpUrl, admin, `CREATE DATABASE IF NOT EXISTS ${config.clickhouse.database}`);
      if (!r.ok) throw new Error(`CREATE DATABASE ${config.clickhouse.database}: HTTP ${r.status} ${r.body.trim()}`);
    },
    logFiles: [ch.stderrFile, ch.errorLogFile],
    // A Kafka engine table whose broker is gone delays shutdown ~3 s each.
    stopGraceMs: 90_000,
  };
}

/** Random, generated once, readable only by us: the `default` user is no open door. */
function defaultUserPassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}
