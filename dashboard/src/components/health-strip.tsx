// The thin pipeline-health strip on every page: data complete up to, ingest lag, Kafka
// backlog, ingest errors in the range (→ the errors page), local spool depth.
import { useEffect } from 'preact/hooks';
import { apiGet, type PipelineResponse } from '../lib/api.ts';
import { fmtBytes, fmtCount, fmtDuration, fmtTime } from '../lib/format.ts';
import { range, rangeParams } from '../lib/range.ts';
import { navigate } from '../lib/router.ts';
import { useQuery } from '../lib/use-query.ts';
import { useState } from 'preact/hooks';

export function HealthStrip() {
  const r = range.value;
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((value) => value + 1), 10_000);
    return () => clearInterval(timer);
  }, []);
  const query = useQuery(`${r.from}-${r.to}-${tick}`, (signal) => apiGet<PipelineResponse>('/api/v1/pipeline', rangeParams(r), signal));
  const data = query.data;
  const lag = data?.lag_ms.p95 ?? null;
  const lagClass = lag === null ? '' : lag > 60_000 ? 'bad' : lag > 5_000 ? 'warn' : 'good';
  return (
    <div class="health-strip" data-state={data ? 'ready' : query.error ? 'error' : 'loading'} aria-label="pipeline health">
      {query.error && !data ? <span class="pill bad">pipeline status unavailable: {query.error.message}</span> : null}
      <span class="pill" title={data ? `source: ${data.complete_until_source}` : ''}>
        complete to <b>{data ? fmtTime(data.complete_until_ms) : '…'}</b>
      </span>
      <span class={`pill ${lagClass}`} title="publish → ClickHouse, runs ingested in the last 5 minutes">
        ingest lag p95 <b>{data ? (lag === null ? 'idle' : fmtDuration(lag)) : '…'}</b>
      </span>
      {data?.backlog_events !== null && data?.backlog_events !== undefined ? (
        <span class={`pill ${data.backlog_events > 10_000 ? 'warn' : ''}`} title="events in Kafka not yet stored">
          backlog <b>{fmtCount(data.backlog_events)}</b>
        </span>
      ) : null}
      <button type="button" class={`pill link ${data && data.ingest_errors > 0 ? 'bad' : ''}`} onClick={() => navigate('errors')} title="ingest errors in this range">
        ingest errors <b>{data ? fmtCount(data.ingest_errors) : '…'}</b>
      </button>
      {data?.spool ? (
        <span class={`pill ${data.spool.bytes > 0 ? 'warn' : ''}`} title="bytes waiting in the local spool">
          spool <b>{fmtBytes(data.spool.bytes)}</b>
        </span>
      ) : null}
      {data?.last_ingested_at_ms ? <span class="pill muted">last ingest {fmtTime(data.last_ingested_at_ms, false)}</span> : null}
    </div>
  );
}
