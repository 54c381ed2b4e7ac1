// A live client over Node's own response (what @hono/node-server passes as
// `c.env.outgoing`). hono's streamSSE pipes every write through a TransformStream, a
// ReadableStream and node-server's read loop: several promises and web-stream steps per
// frame, which at 10,000 clients × 4 ticks/s was most of the API's CPU. Here a frame is one
// write of bytes built once and shared by every client that gets the same frame.
//
// The head still goes the ordinary way, so the app's middleware (security headers, request
// log, metrics) sees and shapes the response: the route returns a Response whose body is a
// stream that never yields. node-server writes the head and only then reads that body
// (Transfer-Encoding: chunked skips its look-ahead read), so the first read says the head is
// out: the frames queued until then are written and every later one goes out directly. The
// read never resolves; node-server cancels it when the response closes.
//
// Directly means to the socket, as HTTP chunks framed once per frame (the response would
// frame each write again, per client, with two extra string writes): safe once everything the
// response wrote itself has reached the socket (its own buffer is empty), since from then on
// only this outlet writes until `end()`, which appends the last chunk after ours.
//
// Pending bytes, as the hub's cutoff rules mean them: what is queued behind the frame in
// flight. The first frame written to an empty socket buffer counts as taken (a reader busy
// for a moment has not stalled); everything written after it until the buffer drains counts.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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

// A frame's HTTP chunk, built the first time any client is sent that frame.
const chunks = new WeakMap<Uint8Array, Buffer>();

/** `frame` as one HTTP/1.1 chunk: size in hex, CRLF, the bytes, CRLF. */
export function httpChunk(frame: Uint8Array): Buffer {
  let chunk = chunks.get(frame);
  if (!chunk) {
    const size = `${frame.byteLength.toString(16)}\r\n`;
    chunk = Buffer.allocUnsafe(size.length + frame.byteLength + 2);
    chunk.write(size, 0, 'latin1');
    chunk.set(frame, size.length);
    chunk.write('\r\n', size.length + frame.byteLength, 'latin1');
    chunks.set(frame, chunk);
  }
  return chunk;
}

export function nodeStream(outgoing: ServerResponse): NodeStream {
  // Frames written before node-server has sent the head (the `ready` frame is written at attach).
  let queued: Uint8Array[] | null = [];
  let queuedBytes = 0;
  let ending = false;
  // Set when the response's own buffer was empty at the first read: write chunks to it directly.
  let socket: Socket | null = null;
  let inFlight = 0;
  const onDrain = () => { inFlight = 0; };
  const buffered = () => (socket ? socket.writableLength : outgoing.writableLength);

  const send = (frame: Uint8Array) => {
    if (outgoing.writableEnded) return;
    if (buffered() === 0) inFlight = frame.byteLength;
    if (socket && !socket.destroyed) socket.write(httpChunk(frame));
    else if (!socket) outgoing.write(frame);
  };
  const outlet: LiveOutlet = {
    write(frame) {
      if (queued) {
        queued.push(frame);
        queuedBytes += frame.byteLength;
      } else {
        send(frame);
      }
    },
    pendingBytes: () => (queued ? queuedBytes : Math.max(0, buffered() - inFlight)),
    close() {
      if (queued) ending = true;
      else outgoing.end();
    },
    destroy: () => void outgoing.destroy(),
  };
  const body = new ReadableStream<Uint8Array>(
    {
      pull() {
        const direct = outgoing.socket;
        if (direct && outgoing.headersSent && outgoing.writableLength === direct.writableLength) {
          socket = direct;
          socket.on('drain', onDrain);
          outgoing.once('close', () => socket?.off('drain', onDrain));
        } else {
          outgoing.on('drain', onDrain);
        }
        const frames = queued ?? [];
        queued = null;
        queuedBytes = 0;
        for (const frame of frames) send(frame);
        if (ending) outgoing.end();
        return new Promise<void>(() => {});
      },
    },
    // No read-ahead: pull runs only when node-server reads, i.e. after it wrote the head.
    { highWaterMark: 0 },
  );
  return { outlet, body };
}
