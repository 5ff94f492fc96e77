import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertRouter, configSchema, DeliveryStore, Notifiers } from '../hub/index.js';
import { MemoryLogger, VirtualClock, type OutgoingMessage, type Publisher } from '../kernel/index.js';
import { RuleEngine } from '../rules/index.js';
import { Cleanups } from './support/cleanups.js';
import { ruleSet, T0 } from './support/engine-rig.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** The broker: rules' alert topics and the mqtt notifier's messages, in order. */
class MemoryBroker implements Publisher {
  readonly sent: OutgoingMessage[] = [];
  publish(message: OutgoingMessage): Promise<void> {
    this.sent.push(message);
    return Promise.resolve();
  }
  notifications(): { title: string; priority: string; tags: string[] }[] {
    return this.sent
      .filter((m) => m.topic === 'site/notify')
      .map((m) => JSON.parse(m.payload.toString()) as { title: string; priority: string; tags: string[] });
  }
}

const RULES = `rules:
  - id: hot
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then:
      - alert: { key: "hot/{{ device }}", severity: major, message: "{{ device }} at {{ payload.value }}" }
      - notify: { via: ops, title: "rule hot", message: "{{ device }}" , priority: low }
  - id: cool
    when: { mqtt: sensors/+device/temperature }
    if: payload.value < 25
    then: [{ clear_alert: { key: "hot/{{ device }}" } }]
  - id: note
    when: { mqtt: sensors/+device/humidity }
    then: [{ alert: { key: "damp/{{ device }}", severity: info } }]
`;

/** The hub's wiring of rules, notifiers and alert routing, on a virtual clock. */
function site() {
  const config = configSchema.parse({
    notifiers: {
      phone: { type: 'mqtt', topic: 'site/notify' },
      ops: { type: 'mqtt', topic: 'site/notify' },
    },
    alerts: { notify: [{ severities: ['critical', 'major'], via: ['phone'] }], remind_every: '1h' },
  });
  const clock = new VirtualClock(T0);
  const logger = new MemoryLogger();
  const broker = new MemoryBroker();
  const store = new DeliveryStore(new Database(':memory:'));
  const notifiers = new Notifiers({
    configs: config.notifiers,
    clock,
    logger,
    publisher: broker,
    store,
    timezone: 'UTC',
    hubName: 'shed',
  });
  const routed: { router?: AlertRouter } = {};
  const engine = new RuleEngine({
    clock,
    publisher: broker,
    logger,
    timezone: 'UTC',
    notifier: notifiers,
    onEvent: (name, data) => routed.router?.onEvent(name, data),
  });
  const router = new AlertRouter({
    routing: config.alerts,
    notifier: notifiers,
    alerts: engine.alerts,
    clock,
    logger,
  });
  notifiers.start();
  engine.load(ruleSet(RULES, { notifiers: Object.keys(config.notifiers) }));
  routed.router = router;
  router.start();
  cleanups.add(() => {
    router.stop();
    engine.stop();
    notifiers.stop();
    store.close();
  });
  const send = async (topic: string, value: number): Promise<void> => {
    engine.handle({
      topic,
      payload: Buffer.from(JSON.stringify({ value })),
      qos: 0,
      retain: false,
      clientId: 'sensor',
      receivedAt: clock.now(),
    });
    await engine.whenIdle();
    await notifiers.whenIdle();
  };
  const advance = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await notifiers.whenIdle();
  };
  return { engine, broker, store, send, advance, clock };
}

describe('alerts routed to notifiers by severity', () => {
  it('tells the routed notifier on raise and clear, and reminds every hour while unacknowledged', async () => {
    const { broker, store, send, advance } = site();
    await send('sensors/gh-1/temperature', 31);
    expect(broker.notifications()).toEqual([
      expect.objectContaining({ title: 'MAJOR: hot/gh-1', priority: 'high', tags: ['major', 'raised'] }),
      // The rule's own notify: through ops.
      expect.objectContaining({ title: 'rule hot', priority: 'low', tags: [] }),
    ]);
    // Raised again while active: only counted, no second notification.
    await send('sensors/gh-1/temperature', 33);
    expect(broker.notifications().filter((n) => n.title.startsWith('MAJOR'))).toHaveLength(1);
    await advance(3_600_000 - 1);
    expect(broker.notifications().filter((n) => n.tags.includes('reminder'))).toHaveLength(0);
    await advance(1);
    await advance(3_600_000);
    expect(broker.notifications().filter((n) => n.tags.includes('reminder'))).toEqual([
      expect.objectContaining({ title: 'STILL ACTIVE: hot/gh-1', priority: 'high' }),
      expect.objectContaining({ title: 'STILL ACTIVE: hot/gh-1', priority: 'high' }),
    ]);
    await send('sensors/gh-1/temperature', 20);
    expect(broker.notifications().at(-1)).toEqual(
      expect.objectContaining({
        title: 'CLEARED: hot/gh-1',
        priority: 'default',
        tags: ['major', 'cleared'],
      }),
    );
    const before = broker.notifications().length;
    await advance(5 * 3_600_000);
    expect(broker.notifications()).toHaveLength(before);
    // Every one is stored with its source.
    expect(store.recent({ source: 'alert:hot/gh-1', limit: 10 }).map((r) => r.state)).toEqual(
      Array<string>(4).fill('delivered'),
    );
  });

  it('sends no reminder once the alert is acknowledged', async () => {
    const { engine, broker, send, advance } = site();
    await send('sensors/gh-2/temperature', 31);
    await advance(3_600_000);
    expect(broker.notifications().filter((n) => n.tags.includes('reminder'))).toHaveLength(1);
    await engine.acknowledgeAlert('hot/gh-2');
    await advance(10 * 3_600_000);
    expect(broker.notifications().filter((n) => n.tags.includes('reminder'))).toHaveLength(1);
  });

  it('sends nothing for a severity no route names', async () => {
    const { broker, send, advance } = site();
    await send('sensors/gh-3/humidity', 90);
    await advance(3 * 3_600_000);
    expect(broker.notifications()).toEqual([]);
  });

  it('a route naming a notifier the config lacks is a config error at its key path', () => {
    const result = configSchema.safeParse({
      notifiers: { phone: { type: 'mqtt', topic: 't' } },
      alerts: { notify: [{ via: ['phone', 'pager'] }] },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['alerts.notify.0.via.1', 'unknown notifier "pager"; configured notifiers: phone'],
    ]);
  });
});
