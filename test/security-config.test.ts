import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerOptionsFromConfig, DEFAULT_LIMITS } from '../hub/broker/index.js';
import { loadConfig } from '../hub/index.js';
import { securityOptionsFromConfig } from '../hub/security/index.js';
import type { EdgehubErrors } from '../kernel/index.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

function configFile(text: string): string {
  const dir = temp.make();
  writeFiles(dir, { 'edgehub.yaml': text });
  return join(dir, 'edgehub.yaml');
}

describe('security and limits config', () => {
  it('defaults to loopback-only anonymous access, no TLS, and the documented limits', () => {
    const config = loadConfig(undefined);
    expect(config.mqtt.security).toMatchObject({ allow_anonymous: 'loopback', auth_delay: '1s' });
    const options = brokerOptionsFromConfig(config.mqtt);
    expect(options.tls).toBeUndefined();
    expect(options.limits).toEqual(DEFAULT_LIMITS);
    expect(securityOptionsFromConfig(config.mqtt.security)).toEqual({
      passwordFile: undefined,
      aclFile: undefined,
      allowAnonymous: 'loopback',
      clientIdMustMatchUsername: false,
      authDelayMs: 1000,
      authDelayMaxMs: 30_000,
    });
  });

  it('needs a certificate and key for a TLS listener, and a CA to require client certificates', () => {
    const file = configFile('mqtt:\n  tls:\n    ws_port: 8884\n    require_client_cert: true\n');
    let caught: unknown;
    try {
      loadConfig(file);
    } catch (err) {
      caught = err;
    }
    expect((caught as EdgehubErrors).errors.map((e) => e.message)).toEqual([
      `${file}:3:5 (mqtt.tls.cert): a TLS listener needs mqtt.tls.cert (a PEM file)`,
      `${file}:3:5 (mqtt.tls.key): a TLS listener needs mqtt.tls.key (a PEM file)`,
      `${file}:3:5 (mqtt.tls.ca): require_client_cert needs mqtt.tls.ca`,
    ]);
  });

  it('maps the YAML onto broker and security options, resolving paths', () => {
    const file = configFile(
      [
        'mqtt:',
        '  tls: { host: 0.0.0.0, port: 8883, cert: hub.crt, key: hub.key }',
        '  security: { allow_anonymous: false, password_file: pw, auth_delay: 250ms }',
        '  limits: { max_connections: 10, publish_rate: 5, max_topic_levels: 8 }',
        '',
      ].join('\n'),
    );
    const config = loadConfig(file);
    expect(brokerOptionsFromConfig(config.mqtt)).toMatchObject({
      tls: {
        host: '0.0.0.0',
        port: 8883,
        wsPort: null,
        certFile: resolve('hub.crt'),
        keyFile: resolve('hub.key'),
      },
      limits: { maxConnections: 10, publishRatePerSec: 5, maxTopicLevels: 8, publishBurst: 10_000 },
    });
    expect(securityOptionsFromConfig(config.mqtt.security)).toMatchObject({
      allowAnonymous: false,
      passwordFile: resolve('pw'),
      authDelayMs: 250,
    });
  });

  it('refuses limits outside what aedes can do', () => {
    expect(() => loadConfig(configFile('mqtt:\n  limits:\n    max_topic_levels: 101\n'))).toThrow(
      /mqtt\.limits\.max_topic_levels/,
    );
  });
});
