import { readFileSync } from 'node:fs';
import { EdgehubError } from '../../kernel/index.js';
import type { ConnectorConfig } from './config-schema.js';

/**
 * The connector's password or secret, read when it connects (so a changed file is taken at the next
 * attempt); undefined when none is configured. The value is never logged: errors name only where
 * it was looked for.
 */
export function connectorSecret(config: ConnectorConfig): string | undefined {
  if (config.password_env !== undefined) {
    const value = process.env[config.password_env];
    if (value === undefined || value === '')
      throw new EdgehubError(
        'CONNECTOR_CREDENTIALS',
        `connector ${config.id}: the environment variable ${config.password_env} (password_env) is not set`,
      );
    return value;
  }
  if (config.password_file !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.password_file, 'utf8');
    } catch (err) {
      throw new EdgehubError(
        'CONNECTOR_CREDENTIALS',
        `connector ${config.id}: cannot read password_file ${config.password_file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return text.split(/\r?\n/, 1)[0] ?? '';
  }
  return undefined;
}

/** Node's TLS options from the connector's `tls:` settings; undefined when it sets none. */
export function connectorTls(
  config: ConnectorConfig,
):
  { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string } | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  const read = (what: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new EdgehubError(
        'CONNECTOR_TLS',
        `connector ${config.id}: cannot read tls.${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  };
  const ca = read('ca', tls.ca);
  const cert = read('cert', tls.cert);
  const key = read('key', tls.key);
  return {
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
    rejectUnauthorized: tls.verify,
    ...(tls.servername !== undefined && { servername: tls.servername }),
  };
}
