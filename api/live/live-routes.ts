// GET /api/v1/live: the hub's frames over Server-Sent Events, and GET /api/v1/live/watermark.
// A sub-app: api/app.ts mounts it with `app.route('/', liveRoutes(hub))`, after its auth
// middleware, so the live stream is guarded like every other endpoint.
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { LiveHub, LiveOutlet } from './live-hub.ts';
import { isServerResponse, nodeStream, SSE_HEADERS } from './node-outlet.ts';
import { decodePosition, encodePosition } from './position.ts';
import { parseLiveQuery } from './subscription.ts';

/** What @hono/node-server puts in c.env; absent under app.request() in tests. */
interface NodeBindings {
  outgoing?: unknown;
}

export function liveRoutes(hub: LiveHub): Hono {
  const app = new Hono();

  app.get('/api/v1/live', function liveStream(c) {
    const outcome = parseLiveQuery(c.req.queries());
    if (!outcome.ok) return badParameter(c, outcome.parameter, outcome.message);
    let from = outcome.from;
    // The header wins: a browser's EventSource sends it on its own reconnects, with the
    // original URL (and so a stale ?from=) unchanged.
    const lastEventId = c.req.header('last-event-id');
    if (lastEventId !== undefined && lastEventId.trim() !== '') {
      from = decodePosition(lastEventId);
      if (from === null) return badParameter(c, 'Last-Event-ID', 'must be a position like 0:123,1:456 (an id this API sent)');
    }
    if (!hub.accepting) return c.json({ error: 'the live stream is not available on this instance (starting or stopping)' }, 503, { 'Retry-After': '1' });
    const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
    if (isServerResponse(outgoing)) {
      // The fast path (node-outlet.ts): frames go straight to Node's response.
      const { outlet, body } = nodeStream(outgoing);
      const session = hub.attach({ subscription: outcome.subscription, from, outlet });
      // The browser went away: the hub forgets the client at once.
      outgoing.once('close', () => session.detach());
      return c.body(body, 200, SSE_HEADERS);
    }
    return streamSSE(c, async (stream) => {
      // Without a Node response (app.request(), other runtimes): through hono's stream.
      let pending = 0;
      const outlet: LiveOutlet = {
        write(frame) {
          pending += frame.byteLength;
          // stream.write never rejects (a write to a gone client resolves).
          void stream.write(frame).finally(() => { pending -= frame.byteLength; });
        },
        pendingBytes: () => pending,
        close: () => void stream.close(),
        destroy: () => void stream.abort(),
      };
      const session = hub.attach({ subscription: outcome.subscription, from, outlet });
      // Cleanup on abort: the browser went away, the hub forgets the client at once.
      stream.onAbort(() => session.detach());
      await session.done;
    });
  });

  app.get('/api/v1/live/watermark', async function liveWatermark(c) {
    const position = await hub.watermark();
    return c.json({ complete_until: encodePosition(position), head: encodePosition(hub.head()) });
  });

  return app;
}

function badParameter(c: Context, name: string, problem: string) {
  return c.json({ error: `parameter '${name}': ${problem}` }, 400);
}
