// A live client over Node's own ServerResponse (what @hono/node-server passes as
// `c.env.outgoing`). hono's streamSSE pipes every write through a TransformStream, a
// ReadableStream and node-server's read loop: several promises and web-stream steps per
// frame, which at 10,000 clients × 4 ticks/s was most of the API's CPU. Here a frame is one
// `outgoing.write`, and backpressure is read straight off `writableLength`.
//
// The head still goes the ordinary way, so the app's middleware (security headers, request
// log, metrics) sees and shapes the response: the route returns a Response whose body is a
// stream that never yields. node-server writes the head and only then reads that body
// (Transfer-Encoding: chunked skips its look-ahead read), so the first read says the head is
// out: the frames queued until then are written and every later one goes to the socket
// directly. The read never resolves; node-server cancels it when the response closes.
//
// Pending bytes, as the hub's cutoff rules mean them: what is queued behind the frame in
// flight. The first frame written to an empty socket buffer counts as taken (a reader busy
// for a moment has not stalled), everything written after it until the buffer drains counts.
import type { ServerResponse } from 'node:http';
import type { LiveOutlet } from './live-hub.ts';

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'Transfer-Encoding': 'chunked',
};

export interface NodeStream {
  outlet: LiveOutlet;
  /** The response body to hand to node-server: it never yields a byte itself. */
  body: ReadableStream<Uint8Array>;
}

/** Duck-typed: under app.request() (tests) there is no Node response. */
export function isServerResponse(value: unknown): value is ServerResponse {
  const candidate = value as Partial<ServerResponse> | null | undefined;
  return typeof candidate?.write === 'function' && typeof candidate.writableLength === 'number' && typeof candidate.once === 'function';
}

export function nodeStream(outgoing: ServerResponse): NodeStream {
  // Frames written before node-server has sent the head (the `ready` frame is written at attach).
  let queued: Uint8Array[] | null = [];
  let queuedBytes = 0;
  let ending = false;
  let inFlight = 0;
  outgoing.on('drain', () => { inFlight = 0; });
  const outlet: LiveOutlet = {
    write(frame) {
      if (queued) {
        queued.push(frame);
        queuedBytes += frame.byteLength;
      } else if (!outgoing.writableEnded) {
        if (outgoing.writableLength === 0) inFlight = frame.byteLength;
        outgoing.write(frame);
      }
    },
    pendingBytes: () => (queued ? queuedBytes : Math.max(0, outgoing.writableLength - inFlight)),
    close() {
      if (queued) ending = true;
      else outgoing.end();
    },
    destroy: () => void outgoing.destroy(),
  };
  const body = new ReadableStream<Uint8Array>(
    {
      pull() {
        const frames = queued ?? [];
        queued = null;
        queuedBytes = 0;
        for (const frame of frames) outgoing.write(frame);
        if (ending) outgoing.end();
        return new Promise<void>(() => {});
      },
    },
    // No read-ahead: pull runs only when node-server reads, i.e. after it wrote the head.
    { highWaterMark: 0 },
  );
  return { outlet, body };
}
