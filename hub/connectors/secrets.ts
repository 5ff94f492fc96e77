import { readFileSync } from 'node:fs';
import { EdgehubError, type ErrorCode } from '../../kernel/index.js';
import type { ConnectorConfig } from './config-schema.js';

/**
 * The connector's password or secret, read when it connects (so a changed file is taken at the next
 * attempt); undefined when none is configured. The value is never logged: errors name only where
 * it was looked for.
 */
export function connectorSecret(config: ConnectorConfig): string | undefined {
  return readSecret({
    owner: `connector ${config.id}`,
    key: 'password',
    env: config.password_env,
    file: config.password_file,
    code: 'CONNECTOR_CREDENTIALS',
  });
}

/**
 * A secret from the environment variable `env` (`<key>_env`) or the first line of `file`
 * (`<key>_file`); undefined when neither is given. Errors name where it was looked for, never
 * the value.
 */
export function readSecret(from: {
  /** Who needs it, for messages: "connector cloud", "notifier phone". */
  owner: string;
  /** The config key's stem: `password` for `password_env` / `password_file`. */
  key: string;
  env: string | undefined;
  file: string | undefined;
  code: ErrorCode;
}): string | undefined {
  const { owner, key, env, file, code } = from;
  if (env !== undefined) {
    const value = process.env[env];
    if (value === undefined || value === '')
      throw new EdgehubError(code, `${owner}: the environment variable ${env} (${key}_env) is not set`);
    return value;
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new EdgehubError(
        code,
        `${owner}: cannot read ${key}_file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
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
