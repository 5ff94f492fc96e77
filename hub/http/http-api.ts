import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EdgehubError, errorMessage, type Logger } from '../../kernel/index.js';
import { problem, route, type HttpApiPorts, type Reply } from './routes.js';

export interface HttpApiDeps {
  /** Loopback by default: the API has no authentication of its own. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  logger: Logger;
  ports: HttpApiPorts;
  /** Request bodies larger than this are refused with 413; default 64 KiB. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * The hub's small JSON API over node:http: post events to the rules, read rule counters, reload
 * errors, traces and devices, see and drive the connectors, and a health check. Bad input gets a 4xx with a JSON error naming what
 * is wrong; a failing handler gets a 500 and is logged; nothing a client sends stops the hub.
 */
export class HttpApi {
  private server: Server | undefined;
  private closing: Promise<void> | undefined;
  address: { host: string; port: number } | undefined;

  constructor(private readonly deps: HttpApiDeps) {}

  /** Listens; `LISTEN_FAILED` when the address is taken or not allowed. */
  async start(): Promise<void> {
    const { host, port, logger } = this.deps;
    const server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        logger.error('HTTP request failed', { error: errorMessage(err) });
        if (!res.headersSent) send(res, problem(500, 'INTERNAL', 'the request failed; see the hub log'));
        else res.destroy();
      });
    });
    // Slow or stuck clients must not hold sockets forever (ms).
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new EdgehubError(
            'LISTEN_FAILED',
            `cannot listen for HTTP on ${host}:${port}: ${err.code ?? err.message} (set http.port, or null to turn the API off)`,
            { cause: err },
          ),
        );
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => logger.error('HTTP server error', { error: err.message }));
    server.on('clientError', (_err, socket) => socket.destroy());
    this.server = server;
    const a = server.address() as AddressInfo;
    this.address = { host: a.address, port: a.port };
    logger.info('HTTP API listening', { http: `${a.address}:${a.port}` });
  }

  /** Stops accepting and closes open connections; idempotent. */
  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.closing;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/api/')) {
      send(
        res,
        problem(404, 'HTTP_NOT_FOUND', `no such endpoint: ${url.pathname}; the API lives under /api/`),
      );
      req.resume();
      return;
    }
    let segments: string[];
    try {
      segments = url.pathname.slice('/api/'.length).replace(/\/$/, '').split('/').map(decodeURIComponent);
    } catch {
      send(res, problem(400, 'HTTP_BAD_REQUEST', `the path ${url.pathname} is not valid percent-encoding`));
      req.resume();
      return;
    }
    const body = await readBody(req, this.deps.maxBodyBytes ?? DEFAULT_MAX_BODY);
    if ('reply' in body) {
      send(res, body.reply);
      return;
    }
    send(
      res,
      await route(
        { method: req.method ?? 'GET', segments, query: url.searchParams, body: body.value },
        this.deps.ports,
      ),
    );
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<{ value: unknown } | { reply: Reply }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) {
      req.resume();
      return { reply: problem(413, 'PAYLOAD_TOO_LARGE', `the body is over ${max} bytes`) };
    }
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return { value: undefined };
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (err) {
    return { reply: problem(400, 'HTTP_BAD_REQUEST', `the body is not JSON: ${errorMessage(err)}`) };
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...reply.headers,
  });
  res.end(text + '\n');
}
