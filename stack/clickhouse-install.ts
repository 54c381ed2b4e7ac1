// Installs Debian's ClickHouse 18.16 when it is missing. Debian ships the server as
// /usr/sbin/clickhouse-server (not upstream's single /usr/bin/clickhouse binary), so
// that is what we look for.
import { existsSync } from 'node:fs';
import { aptInstall } from './apt-install.ts';
import { StackError } from './errors.ts';
import type { Log } from './run-command.ts';

export const clickhouseServerBinary = '/usr/sbin/clickhouse-server';

export async function ensureClickhouseInstalled({ log, stateDir }: { log: Log; stateDir: string }): Promise<void> {
  if (existsSync(clickhouseServerBinary)) return;
  log(`clickhouse: ${clickhouseServerBinary} is missing`);
  // The package's init script may start a server on the default ports 8123/9000;
  // ours has its own config and ports, so the two do not collide.
  await aptInstall('clickhouse', ['clickhouse-server', 'clickhouse-client'], { log, stateDir });
  if (!existsSync(clickhouseServerBinary)) {
    throw new StackError('clickhouse', `apt-get succeeded but ${clickhouseServerBinary} is still missing`);
  }
  log('clickhouse: installed');
}
