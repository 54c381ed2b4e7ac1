// `runlens api`: the query API, the live stream, alerting, the SQL console and the
// dashboard on one port (http://127.0.0.1:18080/ locally), until SIGINT/SIGTERM.
import { parseApiConfig, ApiConfigError } from '../../api/config.ts';
import { startApi } from '../../api/index.ts';
import { ensureDashboardBuilt } from '../../dashboard/build.ts';
import { parseCommandArgs, UsageError, type Command } from './command.ts';

export const apiCommand: Command = {
  name: 'api',
  summary: 'the query API, live stream, alerting, SQL console and dashboard on one port',
  help: `usage: runlens api [--no-build]

Serves /api/v1/… and the dashboard at / on RUNLENS_API_HOST:RUNLENS_API_PORT
(default 127.0.0.1:18080). Before starting, builds the dashboard when dashboard/dist is
missing or older than its sources (needs the dev dependencies; --no-build skips it).
Configuration: RUNLENS_API_* (see api/config.ts), RUNLENS_KAFKA_* for the live stream,
RUNLENS_ALERT* for alerting. Local dev tokens (loopback only): dev-viewer, dev-analyst,
dev-admin. Stops cleanly on SIGINT/SIGTERM.`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, { 'no-build': { type: 'boolean', default: false } }, false);
    let config;
    try {
      config = parseApiConfig(process.env);
    } catch (error) {
      if (error instanceof ApiConfigError) throw new UsageError(error.message);
      throw error;
    }
    if (!values['no-build'] && config.dashboardDir !== '') {
      const built = await ensureDashboardBuilt({ log: io.err });
      if (built.built) io.err(`api: dashboard built in ${built.ms} ms (${built.summary})`);
    }
    const running = await startApi(config, { log: io.out, signal: io.signal });
    io.err(`api: listening on ${running.url}/ (dashboard) and ${running.url}/api/v1/openapi.json`);
    await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
    await running.stop();
    return 0;
  },
};
