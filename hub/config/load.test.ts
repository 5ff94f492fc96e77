import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgehubErrors } from '../../kernel/index.js';
import { loadConfig } from './load.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'edgehub-config-')), 'edgehub.yaml');
  writeFileSync(path, text);
  return path;
}

function errorsOf(fn: () => unknown): EdgehubErrors {
  try {
    fn();
  } catch (err) {
    if (err instanceof EdgehubErrors) return err;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

describe('loadConfig', () => {
  it('starts from defaults without a file: loopback listeners, store on, no demo', () => {
    const config = loadConfig(undefined);
    expect(config.mqtt).toMatchObject({ host: '127.0.0.1', port: 1883, ws_port: 9001 });
    expect(config.store.enabled).toBe(true);
    expect(config.demo).toBe(false);
    expect(Object.isFrozen(config.mqtt)).toBe(true);
  });

  it('reads a file and lets flags override it', () => {
    const path = file(
      'mqtt:\n  port: 1884\nhub:\n  data_dir: /tmp/x\ndevices:\n  - id: gh-1\n    stale_after: 5m\n',
    );
    const config = loadConfig(path, { mqttPort: 0, demo: true });
    expect(config.mqtt.port).toBe(0);
    expect(config.hub.data_dir).toBe('/tmp/x');
    expect(config.devices[0]).toMatchObject({ id: 'gh-1', stale_after: '5m', adapter: 'mqtt' });
    expect(config.demo).toBe(true);
  });

  it('names file, line, column and key path of a wrong type', () => {
    const path = file('hub:\n  name: greenhouse\nmqtt:\n  port: "eighteen"\n');
    const err = errorsOf(() => loadConfig(path));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.errors[0]?.location).toMatchObject({ file: path, line: 4, col: 9, path: 'mqtt.port' });
  });

  it('reads log levels per component and names a wrong one at its line', () => {
    const ok = file('hub:\n  log_level: info\n  log_components:\n    broker: debug\n    connectors: warn\n');
    expect(loadConfig(ok).hub.log_components).toEqual({ broker: 'debug', connectors: 'warn' });
    expect(loadConfig(undefined).hub.log_components).toEqual({});
    const bad = file('hub:\n  log_components:\n    broker: loud\n');
    const err = errorsOf(() => loadConfig(bad));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.errors[0]?.location).toMatchObject({ line: 3, path: 'hub.log_components.broker' });
  });

  it('refuses an unknown key at its own line', () => {
    const path = file('mqtt:\n  port: 1883\n  prot: 1884\n');
    const err = errorsOf(() => loadConfig(path));
    expect(err.errors[0]?.location).toMatchObject({ line: 3, path: 'mqtt.prot' });
    expect(err.errors[0]?.message).toMatch(/prot/);
  });

  it('reports every problem, including a bad duration inside a list', () => {
    const path = file('devices:\n  - id: ok\n  - id: bad one\n    stale_after: soon\n');
    const err = errorsOf(() => loadConfig(path));
    const paths = err.errors.map((e) => e.location?.path);
    expect(paths).toEqual(expect.arrayContaining(['devices[1].id', 'devices[1].stale_after']));
  });

  it('gives the YAML syntax error its position', () => {
    const path = file('mqtt:\n  port: [1883\n');
    expect(() => loadConfig(path)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
  });

  it('says which file it could not read', () => {
    expect(() => loadConfig('/nonexistent/edgehub.yaml')).toThrow(/\/nonexistent\/edgehub.yaml/);
  });

  it('reads connectors with their defaults: key per device, event format, TLS checked', () => {
    const path = file(
      [
        'connectors:',
        '  - id: cloud',
        '    type: kafka',
        '    brokers: [kafka.example.com:9092]',
        '    out:',
        '      - topics: [sensors/#]',
        '        topic: edgehub.{device}',
        '  - id: queue',
        '    type: amqp',
        '    url: amqps://rabbit.example.com/site1',
        '    username: site1',
        '    password_env: RABBIT_PASSWORD',
        '    tls: {}',
        '',
      ].join('\n'),
    );
    const [kafka, amqp] = loadConfig(path).connectors;
    expect(kafka).toMatchObject({
      type: 'kafka',
      batch_size: 500,
      backlog: { max_events: 1_000_000, max_age: '7d' },
      out: [{ key: 'device', format: 'event', topic: 'edgehub.{device}' }],
    });
    expect(amqp).toMatchObject({ type: 'amqp', tls: { verify: true }, out: [], in: [] });
  });

  it('refuses a connector with a password in its URL, a bad placeholder or a twice-used id', () => {
    const path = file(
      [
        'connectors:',
        '  - id: up',
        '    type: mqtt',
        '    url: mqtt://user:secret@broker.example.com',
        '  - id: up',
        '    type: redis-stream',
        '    url: redis://127.0.0.1:6379',
        '    out:',
        '      - stream: events.{room}',
        '',
      ].join('\n'),
    );
    const err = errorsOf(() => loadConfig(path));
    expect(err.code).toBe('CONFIG_INVALID');
    const where = err.errors.map((e) => [e.location?.path, e.location?.line]);
    expect(where).toEqual(
      expect.arrayContaining([
        ['connectors[0].url', 4],
        ['connectors[1].out[0].stream', 9],
        ['connectors[1].id', 5],
      ]),
    );
    expect(err.errors.map((e) => e.message).join('\n')).not.toContain('secret');
  });
});
