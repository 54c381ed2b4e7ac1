// The API from the browser: the bearer token on every call, errors as ApiError with the
// server's message, and the response types straight from the API's zod schemas (type-only
// imports: nothing of zod reaches the bundle).
import { settings } from './settings.ts';

export type { TimeseriesResponse } from '../../../api/queries/timeseries.ts';
export type { BreakdownResponse } from '../../../api/queries/breakdown.ts';
export type { JobsResponse } from '../../../api/queries/jobs.ts';
export type { RunsResponse } from '../../../api/queries/runs-search.ts';
export type { RunSummary } from '../../../api/queries/run-fields.ts';
export type { RunDetailResponse } from '../../../api/queries/run-detail.ts';
export type { JobSeriesResponse } from '../../../api/queries/job-series.ts';
export type { LeavesResponse } from '../../../api/queries/leaves.ts';
export type { IngestErrorsResponse } from '../../../api/queries/ingest-errors.ts';
export type { PipelineResponse } from '../../../api/queries/pipeline.ts';
export type { SqlResponse } from '../../../api/sql-console/sql-runner.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export type Params = Record<string, string | number | undefined | null | readonly string[]>;

export function queryString(params: Params): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export function authHeaders(): Record<string, string> {
  const token = settings.token.value;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function request<T>(path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'the API is unreachable');
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    if (response.status === 401) settings.askToken.value = true;
    const message = (body as { error?: { message?: string } } | null)?.error?.message ?? (text.slice(0, 300) || response.statusText);
    throw new ApiError(response.status, message);
  }
  return body as T;
}

export function apiGet<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  return request<T>(`${path}${queryString(params)}`, { signal: signal ?? null });
}

export function apiPost<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return request<T>(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, signal: signal ?? null });
}
