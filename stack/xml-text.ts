// Escapes a value for an XML text node. Paths and passwords come from config and
// the environment; an "&" in a state-dir path must not produce an unparseable
// config (which ClickHouse reports only in its own log, after failing to start).
export function xmlText(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
