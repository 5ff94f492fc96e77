import { readFile } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { EdgehubError, errorMessage, type Logger } from '../../kernel/index.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Certificate material for the TLS and secure WebSocket listeners, as paths to PEM files. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA bundle to verify client certificates against. */
  caFile?: string;
  /** Refuse a TLS client without a certificate signed by `caFile`. */
  requireClientCert: boolean;
}

/**
 * Reads the PEM files and checks that they make a usable context (key matches certificate), so a bad
 * file is reported before a listener uses it — at start-up, and on reload where the old one stays.
 */
export async function loadTlsOptions(files: TlsFiles): Promise<SecureContextOptions> {
  const read = async (what: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new EdgehubError('TLS_INVALID', `cannot read TLS ${what} ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  const options: SecureContextOptions = {
    cert: await read('certificate', files.certFile),
    key: await read('key', files.keyFile),
  };
  if (files.caFile !== undefined) options.ca = await read('CA bundle', files.caFile);
  // Loaded here, not with the module: only a hub with a TLS listener needs it.
  const { createSecureContext } = await import('node:tls');
  try {
    createSecureContext(options);
  } catch (err) {
    throw new EdgehubError(
      'TLS_INVALID',
      `TLS certificate ${files.certFile} with key ${files.keyFile} is unusable: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return options;
}

/**
 * Reads the certificate files again and gives `servers` the new context, so new connections get
 * the renewed certificate; a file that cannot be read or used is logged and the running one stays.
 * Resolves to whether the new one is in use.
 */
export async function reloadCertificate(
  files: TlsFiles,
  servers: readonly { setSecureContext(options: SecureContextOptions): void }[],
  logger: Logger,
): Promise<boolean> {
  try {
    const secure = await loadTlsOptions(files);
    for (const server of servers) server.setSecureContext(secure);
    logger.info('TLS certificate reloaded', { cert: files.certFile });
    return true;
  } catch (err) {
    logger.error('TLS certificate not reloaded; the running one stays in use', { error: errorMessage(err) });
    return false;
  }
}

export function listen(
  server: NetServer | HttpServer,
  host: string,
  port: number,
  what: string,
  flag: string,
): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (another MQTT broker such as Mosquitto?); choose another with ${flag}`
          : err.code === 'EACCES'
            ? `no permission to listen on port ${port}; ports below 1024 need privileges, choose another with ${flag}`
            : err.message;
      reject(
        new EdgehubError('LISTEN_FAILED', `${what} listener on ${host}:${port}: ${hint}`, { cause: err }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address() as AddressInfo;
      resolve({ host: addr.address, port: addr.port });
    });
  });
}

export function closeServer(server: NetServer | HttpServer | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
