import { join, resolve } from 'node:path';
import { parseDuration } from '../../kernel/index.js';
import type { HubConfig } from '../config/schema.js';
import { packageRoot } from '../install/exec-start.js';
import { tokensPath } from './auth/token-file.js';
import type { HttpApiDeps } from './http-api.js';

/** The HTTP API's settings from the hub config: address, logins, TLS, limits, the dashboard. */
export function httpOptionsFromConfig(
  config: Readonly<HubConfig>,
): Pick<HttpApiDeps, 'host' | 'port' | 'auth' | 'tls' | 'maxBodyBytes' | 'dashboardDir'> & { port: number } {
  const { http } = config;
  const passwordFile = http.password_file ?? config.mqtt.security.password_file;
  return {
    host: http.host,
    port: http.port ?? 0,
    maxBodyBytes: http.max_body_bytes,
    dashboardDir: resolve(http.dashboard_dir ?? join(packageRoot(), 'dist', 'dashboard')),
    ...(passwordFile !== undefined && {
      auth: {
        passwordFile: resolve(passwordFile),
        roles: http.users,
        tokensFile: tokensPath(resolve(config.hub.data_dir)),
        sessions: {
          idleMs: parseDuration(http.session.idle),
          absoluteMs: parseDuration(http.session.absolute),
        },
        throttle: {
          baseDelayMs: parseDuration(config.mqtt.security.auth_delay),
          maxDelayMs: parseDuration(config.mqtt.security.auth_delay_max),
        },
      },
    }),
    ...(http.tls && {
      tls: {
        certFile: resolve(http.tls.cert),
        keyFile: resolve(http.tls.key),
        requireClientCert: http.tls.require_client_cert,
        ...(http.tls.ca !== undefined && { caFile: resolve(http.tls.ca) }),
      },
    }),
  };
}
