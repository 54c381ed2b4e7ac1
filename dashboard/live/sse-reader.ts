// A text/event-stream parser over a fetch body. EventSource cannot send an Authorization
// header and cannot be pointed at another instance with a new position, so the dashboard
// reads SSE through fetch; the same code runs in Node 20 (tests, the bench).
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

export interface SseMessage {
  event: string;
  data: string;
  /** null when the message carried no id field. */
  id: string | null;
  retry: number | null;
}

/** Calls onMessage for each message until the stream ends or `signal` aborts. */
export async function readSse(body: ReadableStream<Uint8Array>, onMessage: (message: SseMessage) => void, signal?: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const abort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', abort, { once: true });
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | null = null;
  let retry: number | null = null;
  let sawField = false;
  const line = (text: string) => {
    if (text === '') {
      if (sawField && data.length > 0) onMessage({ event: event || 'message', data: data.join('\n'), id, retry });
      event = '';
      data = [];
      id = null;
      retry = null;
      sawField = false;
      return;
    }
    if (text.startsWith(':')) return; // comment
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    sawField = true;
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const ch = buffer.charCodeAt(i);
        if (ch !== 10 && ch !== 13) continue;
        // A CR at the very end may be the first half of CRLF: wait for the next chunk.
        if (ch === 13 && i === buffer.length - 1) break;
        line(buffer.slice(start, i));
        if (ch === 13 && buffer.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      buffer = buffer.slice(start);
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    reader.releaseLock();
  }
}
