// A file's content, pretty-printed: JSON as a collapsible tree (objects and arrays are
// <details>, open two levels deep), anything else as text; a copy button either way.
import { useMemo, useState } from 'preact/hooks';

const MAX_TREE_CHARS = 300_000;

export function FileView({ name, content, truncated, size }: { name: string; content: string; truncated: boolean; size: number }) {
  const parsed = useMemo(() => {
    if (content.length > MAX_TREE_CHARS) return { ok: false as const };
    try {
      return { ok: true as const, value: JSON.parse(content) as unknown };
    } catch {
      return { ok: false as const };
    }
  }, [content]);
  const [copied, setCopied] = useState(false);
  const pretty = parsed.ok ? JSON.stringify(parsed.value, null, 2) : content;
  const copy = async () => {
    await copyText(pretty);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <details class="file" open>
      <summary>
        <span class="file-name">{name}</span>
        <span class="muted small">{size} B{truncated ? ' · truncated' : ''}{parsed.ok ? '' : ' · not JSON'}</span>
        <button type="button" class="small" onClick={(event) => { event.preventDefault(); void copy(); }}>{copied ? 'copied' : 'copy'}</button>
      </summary>
      <div class="json">{parsed.ok ? <JsonNode value={parsed.value} depth={0} /> : <pre>{content}</pre>}</div>
    </details>
  );
}

function JsonNode({ value, depth, name }: { value: unknown; depth: number; name?: string }) {
  const label = name !== undefined ? <span class="j-key">{JSON.stringify(name)}: </span> : null;
  if (value === null || typeof value !== 'object') {
    const kind = value === null ? 'null' : typeof value;
    return <div class="j-line">{label}<span class={`j-${kind}`}>{JSON.stringify(value)}</span></div>;
  }
  const entries: Array<[string | undefined, unknown]> = Array.isArray(value) ? value.map((item) => [undefined, item]) : Object.entries(value as Record<string, unknown>);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return <div class="j-line">{label}{open}{close}</div>;
  return (
    <details class="j-node" open={depth < 2}>
      <summary>{label}{open}<span class="muted small"> {entries.length} {Array.isArray(value) ? 'items' : 'keys'}</span></summary>
      <div class="j-children">
        {entries.map(([key, child], index) => <JsonNode key={key ?? index} name={key} value={child} depth={depth + 1} />)}
      </div>
      <div class="j-line">{close}</div>
    </details>
  );
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (http, headless): the old way.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
}
