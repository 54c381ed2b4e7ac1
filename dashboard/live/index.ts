// The dashboard's live client: framework-free, runs in the browser and in Node 20.
export { backoffDelay, LiveRequestError, openLiveStream, withFrom, type LiveRun, type LiveState, type LiveStream, type LiveStreamOptions } from './live-stream.ts';
export { compareVersions, RunSeries, type MergeOutcome, type SeriesRun } from './run-series.ts';
export { readSse, type SseMessage } from './sse-reader.ts';
