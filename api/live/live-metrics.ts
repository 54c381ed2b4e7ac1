// The hub's figures for the API's /metrics. Structural: any registry with `registerGauge`
// (api/metrics/registry.ts has one). Monotonic counts are exposed as `_total` gauges read at
// scrape time: the hub keeps the numbers, the registry only reads them.
import type { LiveHub } from './live-hub.ts';

export interface GaugeRegistry {
  registerGauge(name: string, help: string, collect: () => number | Array<{ labels?: Record<string, string>; value: number }>): void;
}

export function registerLiveMetrics(registry: GaugeRegistry, hub: LiveHub): void {
  const m = () => hub.metrics();
  registry.registerGauge('runlens_live_clients', 'Connected live (SSE) clients, by state', () => {
    const snapshot = m();
    return [
      { labels: { state: 'live' }, value: snapshot.connectedClients - snapshot.catchingUpClients },
      { labels: { state: 'catching_up' }, value: snapshot.catchingUpClients },
    ];
  });
  registry.registerGauge('runlens_live_messages_in_total', 'Kafka messages read by the live hub', () => m().messagesIn);
  registry.registerGauge('runlens_live_runs_in_total', 'Run events read by the live hub', () => m().runsIn);
  registry.registerGauge('runlens_live_undecodable_total', 'Kafka messages the live hub could not decode', () => m().undecodable);
  registry.registerGauge('runlens_live_frames_out_total', 'SSE messages written to clients', () => m().framesOut);
  registry.registerGauge('runlens_live_runs_out_total', 'Run summaries written to clients (one per client)', () => m().runsOut);
  registry.registerGauge('runlens_live_bytes_out_total', 'Bytes written to live clients', () => m().bytesOut);
  registry.registerGauge('runlens_live_pending_bytes', 'Bytes written to clients and not yet taken by their sockets', () => m().pendingBytes);
  registry.registerGauge('runlens_live_cutoffs_total', 'Clients cut off with a resumable position, by reason', () =>
    Object.entries(m().cutoffs).map(([reason, value]) => ({ labels: { reason }, value })));
  registry.registerGauge('runlens_live_reloads_total', 'Clients told to reload (position no longer resumable)', () => m().reloads);
  registry.registerGauge('runlens_live_resumes_total', 'Resumes, by where the missed events came from', () => {
    const snapshot = m();
    return [
      { labels: { from: 'window' }, value: snapshot.resumesFromWindow },
      { labels: { from: 'kafka' }, value: snapshot.resumesFromKafka },
    ];
  });
  registry.registerGauge('runlens_live_window_events', 'Run summaries held in the retained window', () => m().windowEvents);
  registry.registerGauge('runlens_live_window_bytes', 'Bytes of summary JSON held in the retained window', () => m().windowBytes);
}
