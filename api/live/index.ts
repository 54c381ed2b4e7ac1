// The live part of the API: everything api/index.ts and api/app.ts need.
export { createLiveHub, DEFAULT_LIVE_OPTIONS, type LiveHub, type LiveHubDeps, type LiveHubOptions, type LiveMetrics } from './live-hub.ts';
export { liveRoutes } from './live-routes.ts';
export { registerLiveMetrics, type GaugeRegistry } from './live-metrics.ts';
export { decodePosition, encodePosition, type Position } from './position.ts';
export type { LiveRun } from './run-summary.ts';
