// The run behind `?run=<date>/<key>`: its attempts and versions, newest first, and every
// file of the chosen version. Esc closes it (app.tsx).
import { useState } from 'preact/hooks';
import { apiGet, type RunDetailResponse } from '../lib/api.ts';
import { fmtDuration, fmtTime } from '../lib/format.ts';
import { param, setParams } from '../lib/router.ts';
import { useQuery } from '../lib/use-query.ts';
import { FileView } from './json-view.tsx';

export function closeDrawer(): void {
  setParams({ run: undefined });
}

export function RunDrawer() {
  const id = param('run');
  const [chosen, setChosen] = useState(0);
  const slash = id?.indexOf('/') ?? -1;
  const query = useQuery(id && slash > 0 ? id : null, (signal) => {
    setChosen(0);
    return apiGet<RunDetailResponse>(`/api/v1/runs/${encodeURIComponent(id!.slice(0, slash))}/${encodeURIComponent(id!.slice(slash + 1))}`, {}, signal);
  });
  if (!id) return null;
  const detail = query.data && `${query.data.run_date}/${query.data.key}` === id ? query.data : null;
  const version = detail?.versions[chosen] ?? detail?.versions[0];
  return (
    <aside class="drawer" role="dialog" aria-label={`run ${id}`} data-state={detail ? 'ready' : query.error ? 'error' : 'loading'}>
      <header class="drawer-head">
        <div>
          <div class="muted small">{id.slice(0, slash)}</div>
          <h2 class="mono">{id.slice(slash + 1)}</h2>
        </div>
        <button type="button" class="icon" onClick={closeDrawer} aria-label="close (Esc)" title="close (Esc)">✕</button>
      </header>
      {query.error ? <div class="error-box" role="alert">{query.error.message}</div> : null}
      {!detail && !query.error ? <div class="muted pad"><span class="spinner" /> loading…</div> : null}
      {detail && version ? (
        <div class="drawer-body">
          <dl class="facts">
            <dt>status</dt><dd><span class={`status ${version.status}`}>{version.status}</span></dd>
            <dt>job</dt><dd>{version.job}</dd>
            <dt>host</dt><dd>{version.host}</dd>
            <dt>attempt</dt><dd>{version.attempt}</dd>
            <dt>started</dt><dd>{fmtTime(version.started_at_ms)}</dd>
            <dt>duration</dt><dd>{fmtDuration(version.duration_ms)}</dd>
            <dt>exit code</dt><dd>{version.exit_code ?? '–'}</dd>
            {version.error_type ? <><dt>error</dt><dd class="bad-text">{version.error_type}{version.error_message ? `: ${version.error_message}` : ''}</dd></> : null}
            {Object.keys(version.labels).length > 0 ? <><dt>labels</dt><dd>{Object.entries(version.labels).map(([k, v]) => <span class="tag" key={k}>{k}={v}</span>)}</dd></> : null}
          </dl>
          <h3>Attempts and versions</h3>
          <ol class="versions">
            {detail.versions.map((v, index) => (
              <li key={v.version} class={index === chosen ? 'active' : ''}>
                <button type="button" onClick={() => setChosen(index)}>
                  <span class={`dot ${v.status}`} /> attempt {v.attempt} · <b>{v.status}</b> · written {fmtTime(v.written_at_ms)} · {fmtDuration(v.duration_ms)}
                  {index === 0 ? <span class="tag">current</span> : null}
                </button>
              </li>
            ))}
          </ol>
          {version.metrics.length > 0 ? (
            <>
              <h3>Numeric leaves</h3>
              <table class="grid compact">
                <tbody>
                  {version.metrics.slice(0, 200).map((metric) => (
                    <tr key={`${metric.file}:${metric.path}`}><td class="mono">{metric.file}</td><td class="mono">{metric.path}</td><td class="num">{metric.value}</td></tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : null}
          <h3>Files ({version.files.length})</h3>
          {version.files.length === 0 ? <p class="muted">No files stored for this version.</p> : version.files.map((file) => <FileView key={file.name} {...file} />)}
        </div>
      ) : null}
    </aside>
  );
}
