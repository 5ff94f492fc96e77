import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { assertTopicFilter, type Clock } from '../../../kernel/index.js';
import type { ApiEnv } from '../api-env.js';
import { frame_, STREAM_TYPES, type LiveStream, type StreamType } from '../live-stream.js';
import { badRequest, failures } from '../problem.js';

/** What `/api/stream` is fed from, and the clock its keep-alives run on. */
export interface LiveStreamSource {
  stream: LiveStream;
  clock: Clock;
}

/** A comment line this often keeps proxies from closing a quiet stream, ms. */
const KEEP_ALIVE_MS = 15_000;

const route = createRoute({
  method: 'get',
  path: '/api/stream',
  tags: ['stream'],
  summary:
    'Server-Sent Events: `hello`, then `event`, `device`, `rule` and `alert` as they happen; a client reading too slowly gets `dropped` and is closed',
  request: {
    query: z.object({
      types: z
        .string()
        .optional()
        .openapi({ description: 'comma-separated: event,device,rule,alert (default all)' }),
      topic: z.string().optional().openapi({ description: 'MQTT topic filter for `event`s' }),
      device: z.string().optional(),
    }),
  },
  responses: {
    200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...failures(400),
  },
});

function parseTypes(text: string | undefined): Set<StreamType> {
  if (text === undefined || text === '') return new Set(STREAM_TYPES);
  const types = new Set<StreamType>();
  for (const t of text.split(',').map((s) => s.trim())) {
    if (!STREAM_TYPES.includes(t as StreamType))
      throw badRequest(`types: "${t}" is not one of ${STREAM_TYPES.join(', ')}`);
    types.add(t as StreamType);
  }
  return types;
}

/** `/api/stream`. */
export function streamRoutes(app: OpenAPIHono<ApiEnv>, source: LiveStreamSource | undefined): void {
  app.openapi(route, (c) => {
    const q = c.req.valid('query');
    const types = parseTypes(q.types);
    if (q.topic !== undefined) {
      try {
        assertTopicFilter(q.topic);
      } catch (err) {
        throw badRequest(`topic: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const { user, role } = c.get('principal');
    c.header('cache-control', 'no-store');
    return streamSSE(c, async (sse) => {
      const hello = frame_('hello', JSON.stringify({ user, role }));
      if (!source) {
        await sse.write(hello);
        return;
      }
      const client = source.stream.connect({
        types,
        ...(q.topic !== undefined && { topic: q.topic }),
        ...(q.device !== undefined && { device: q.device }),
      });
      client.push(hello);
      let keepAlive = source.clock.setTimer('http.stream-keep-alive', KEEP_ALIVE_MS, function ping() {
        client.push(': keep-alive\n\n');
        keepAlive = source.clock.setTimer('http.stream-keep-alive', KEEP_ALIVE_MS, ping);
      });
      sse.onAbort(() => source.stream.disconnect(client));
      try {
        for (;;) {
          const frames = await client.take();
          if (frames.length === 0 || sse.aborted) break;
          // One write per batch: what piled up while the socket was busy goes out together.
          await sse.write(frames.join(''));
        }
      } finally {
        source.clock.clearTimer(keepAlive);
        source.stream.disconnect(client);
      }
    });
  });
}
