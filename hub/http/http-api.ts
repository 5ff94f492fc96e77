import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import { createAdaptorServer } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { EdgehubError, errorMessage, SystemClock, type Clock, type Logger } from '../../kernel/index.js';
import { isLoopback, loadTlsOptions, reloadCertificate, type TlsFiles } from '../broker/index.js';
import { createApiApp, type ApiExtensions } from './api-app.js';
import type { ApiEnv } from './api-env.js';
import { HttpAuth, type HttpAuthOptions } from './auth/http-auth.js';
import type { LiveStream } from './live-stream.js';
import type { HttpApiPorts } from './ports.js';

export type HttpAuthConfig = HttpAuthOptions;

export interface HttpApiDeps {
  /** Loopback unless logins are configured: without users the API is refused anywhere else. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  logger: Logger;
  ports: HttpApiPorts;
  /** Session expiry, login slowdown and keep-alives run on it; the system clock by default. */
  clock?: Clock;
  /** Request bodies larger than this are refused with 413; default 64 KiB. */
  maxBodyBytes?: number;
  /** Logins from a password file; undefined: no logins, loopback only. */
  auth?: HttpAuthConfig;
  /** HTTPS with these PEM files (the same settings as the broker's TLS). */
  tls?: TlsFiles;
  /** The built dashboard (`dist/dashboard`). */
  dashboardDir?: string;
  stream?: LiveStream;
  extensions?: ApiExtensions;
}

const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * The hub's HTTP API and dashboard on a hono app over node:http (or node:https): listens, and
 * closes every connection on stop. Nothing a client sends stops the hub.
 */
export class HttpApi {
  private server: Server | undefined;
  private closing: Promise<void> | undefined;
  private built: OpenAPIHono<ApiEnv> | undefined;
  private auth: HttpAuth | undefined;
  /** The server when it serves TLS: what a reload gives the renewed certificate. */
  private tlsServer: HttpsServer | undefined;
  address: { host: string; port: number } | undefined;

  constructor(private readonly deps: HttpApiDeps) {}

  /** The app, for `app.request()` in tests; built on first use. */
  get app(): OpenAPIHono<ApiEnv> {
    this.built ??= this.build(undefined);
    return this.built;
  }

  /**
   * What SIGHUP does to the HTTP API: reads the password file again (users added log in; the
   * sessions of users removed end) and the TLS certificate (new connections get the renewed one). A
   * file that cannot be read or used is logged and the running one stays. Resolves to whether
   * everything new is in force.
   */
  async reload(): Promise<boolean> {
    let ok = true;
    if (this.auth) {
      try {
        await this.auth.load();
      } catch (err) {
        ok = false;
        this.deps.logger.error('HTTP logins not reloaded; the running ones stay in force', {
          error: errorMessage(err),
        });
      }
    }
    if (this.deps.tls && this.tlsServer)
      ok = (await reloadCertificate(this.deps.tls, [this.tlsServer], this.deps.logger)) && ok;
    return ok;
  }

  /**
   * Reads the password file and TLS files and listens. `HTTP_UNPROTECTED` for a non-loopback host
   * without logins, `PASSWORD_FILE_INVALID`/`TLS_INVALID` for unusable files, `LISTEN_FAILED` when
   * the address is taken or not allowed.
   */
  async start(): Promise<void> {
    const { host, port, logger } = this.deps;
    let auth: HttpAuth | undefined;
    if (this.deps.auth) {
      auth = new HttpAuth({ options: this.deps.auth, clock: this.clock, logger });
      await auth.load();
    } else if (!isLoopback(host)) {
      throw new EdgehubError(
        'HTTP_UNPROTECTED',
        `http.host is ${host}, but without a password file the HTTP API has no logins and may only listen on loopback; ` +
          'create users with `edgehub passwd FILE USER` and set http.password_file (or mqtt.security.password_file), or set http.host: 127.0.0.1',
      );
    } else {
      logger.warn(
        `the HTTP API has no logins (no http.password_file or mqtt.security.password_file): it listens on ${host} only, and anyone on this machine may use it as admin`,
      );
    }
    this.auth = auth;
    this.built = this.build(auth);
    const tls = this.deps.tls ? await loadTlsOptions(this.deps.tls) : undefined;
    const app = this.built;
    const server = (
      tls
        ? createAdaptorServer({
            fetch: app.fetch,
            createServer: (await import('node:https')).createServer,
            serverOptions: {
              ...tls,
              ...(this.deps.tls?.requireClientCert === true && {
                requestCert: true,
                rejectUnauthorized: true,
              }),
            },
          })
        : createAdaptorServer({ fetch: app.fetch })
    ) as Server;
    // Slow or stuck clients must not hold sockets forever (ms); the live stream is exempt from the request timeout.
    server.requestTimeout = 0;
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
    if (tls) this.tlsServer = server as unknown as HttpsServer;
    const a = server.address() as AddressInfo;
    this.address = { host: a.address, port: a.port };
    logger.info('HTTP API listening', { http: `${tls ? 'https' : 'http'}://${a.address}:${a.port}` });
  }

  /** Stops accepting and closes open connections (live streams included); idempotent. */
  stop(): Promise<void> {
    this.deps.stream?.closeAll();
    const server = this.server;
    if (!server) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.closing;
  }

  private get clock(): Clock {
    return this.deps.clock ?? (this.systemClock ??= new SystemClock());
  }

  private systemClock: Clock | undefined;

  private build(auth: HttpAuth | undefined): OpenAPIHono<ApiEnv> {
    const { ports, logger } = this.deps;
    return createApiApp({
      ports,
      logger,
      maxBodyBytes: this.deps.maxBodyBytes ?? DEFAULT_MAX_BODY,
      secure: this.deps.tls !== undefined,
      ...(auth && { auth }),
      ...(this.deps.dashboardDir !== undefined && { dashboardDir: this.deps.dashboardDir }),
      ...(this.deps.stream && { stream: { stream: this.deps.stream, clock: this.clock } }),
      ...(this.deps.extensions && { extensions: this.deps.extensions }),
    });
  }
}
