// The stack's own tiny ClickHouse HTTP calls (health check, CREATE DATABASE).
// Plain fetch rather than @clickhouse/client: its ping() succeeds even with a wrong
// password on 18.16, and the stack needs nothing but "did this statement work".
export type ChCredentials = { name: string; password: string };

export async function clickhouseQuery(
  httpUrl: string,
  user: ChCredentials,
  sql: string,
  timeoutMs = 5_000,
): Promise<{ ok: boolean; status: number; body: string }> {
  const response = await fetch(`${httpUrl}/`, {
    method: 'POST', // GET is always read-only in ClickHouse
    headers: { 'X-ClickHouse-User': user.name, 'X-ClickHouse-Key': user.password },
    body: sql,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.text();
  return { ok: response.ok, status: response.status, body };
}

/** /ping has no authentication: it only proves the HTTP listener is up. */
export async function clickhousePing(httpUrl: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const response = await fetch(`${httpUrl}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok && (await response.text()).startsWith('Ok.');
  } catch {
    return false;
  }
}
