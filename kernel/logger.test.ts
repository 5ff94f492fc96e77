import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsoleLogger, levelFor } from './logger.js';

function capture(options: ConstructorParameters<typeof ConsoleLogger>[0] = {}): {
  logger: ConsoleLogger;
  lines: string[];
} {
  const lines: string[] = [];
  return { logger: new ConsoleLogger({ ...options, write: (line) => lines.push(line) }), lines };
}

afterEach(() => vi.unstubAllEnvs());

describe('levels per component', () => {
  it('lets a component log more or less than the rest, its children included', () => {
    vi.stubEnv('JOURNAL_STREAM', undefined);
    const { logger, lines } = capture({ level: 'info', components: { broker: 'debug', connectors: 'warn' } });
    const broker = logger.child('broker');
    broker.debug('client connected');
    broker.child('shared').debug('share joined');
    const connectors = logger.child('connectors');
    connectors.info('connected');
    connectors.child('cloud').info('batch sent');
    connectors.warn('retrying');
    logger.child('store').debug('batch written');
    logger.child('store').info('retention ran');
    // `brokers` is not `broker`: a name covers only itself and its dotted children.
    logger.child('brokers').debug('not this one');

    expect(lines.map((l) => l.slice(13))).toEqual([
      'DEBUG [broker] client connected',
      'DEBUG [broker.shared] share joined',
      'WARN  [connectors] retrying',
      'INFO  [store] retention ran',
    ]);
  });

  it('takes the longest matching name', () => {
    const components = { devices: 'warn', 'devices.homeassistant': 'debug' } as const;
    expect(levelFor('devices.homeassistant', 'info', components)).toBe('debug');
    expect(levelFor('devices.homeassistant.x', 'info', components)).toBe('debug');
    expect(levelFor('devices.serial', 'info', components)).toBe('warn');
    expect(levelFor('rules', 'info', components)).toBe('info');
    expect(levelFor(undefined, 'error', components)).toBe('error');
  });
});

describe('journald priorities', () => {
  it('start each line with <3> <4> <6> <7> when JOURNAL_STREAM is set', () => {
    vi.stubEnv('JOURNAL_STREAM', '8:12345');
    const { logger, lines } = capture({ level: 'debug' });
    const store = logger.child('store');
    store.error('e');
    store.warn('w');
    store.info('i');
    store.debug('d', { rows: 3 });
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(lines[3]).toMatch(/^<7>\d\d:\d\d:\d\d\.\d{3} DEBUG \[store\] d rows=3$/);
  });

  it('prefix JSON lines too', () => {
    vi.stubEnv('JOURNAL_STREAM', '8:12345');
    const { logger, lines } = capture({ json: true });
    logger.warn('disk nearly full', { freeMb: 12 });
    expect(lines[0]?.startsWith('<4>{')).toBe(true);
    expect(JSON.parse(lines[0]?.slice(3) ?? '')).toMatchObject({
      level: 'warn',
      msg: 'disk nearly full',
      freeMb: 12,
    });
  });

  it('are left out without JOURNAL_STREAM', () => {
    vi.stubEnv('JOURNAL_STREAM', undefined);
    const { logger, lines } = capture({ level: 'debug' });
    logger.error('e');
    logger.child('x').debug('d');
    expect(lines.every((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l))).toBe(true);
  });
});
