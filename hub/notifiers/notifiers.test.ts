import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogger, type OutgoingMessage, type Publisher } from '../../kernel/index.js';
import type { Notification } from '../../rules/index.js';
import { Cleanups } from '../../test/support/cleanups.js';
import { SignallingClock } from '../../test/support/signalling-clock.js';
import { TempDirs } from '../../test/support/temp.js';
import { until } from '../../test/support/until.js';
import { notifiersSchema } from './config-schema.js';
import { DeliveryStore } from './delivery-store.js';
import { Notifiers } from './notifiers.js';

/** 2023-11-14T22:13:20Z. */
const T0 = 1_700_000_000_000;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A local HTTP server on port 0 playing ntfy, Telegram or a webhook receiver: it keeps every request
 * and answers with `answer(n)` for the n-th (0-based); 'hang' never answers.
 */
class StandIn extends EventEmitter {
  readonly seen: Seen[] = [];
  private server: Server | undefined;
  url = '';

  constructor(private readonly answer: (n: number) => number | 'hang' = () => 200) {
    super();
  }

  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = this.seen.length;
        this.seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const status = this.answer(n);
        if (status !== 'hang')
          res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}');
        this.emit('request');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves once `count` requests arrived. */
  requests(count: number): Promise<void> {
    return until(() => this.seen.length >= count, `${count} requests`, [[this, 'request']]);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The hub's broker as a notifier of type mqtt sees it: messages kept in order. */
class MemoryBroker implements Publisher {
  readonly sent: OutgoingMessage[] = [];
  publish(message: OutgoingMessage): Promise<void> {
    this.sent.push(message);
    return Promise.resolve();
  }
}

const cleanups = new Cleanups();
const temp = new TempDirs();
afterEach(async () => {
  await cleanups.run();
  temp.cleanup();
  delete process.env.EDGEHUB_TEST_TG_TOKEN;
});

function rig(configs: Record<string, unknown>, timezone = 'UTC') {
  const clock = new SignallingClock(T0);
  const logger = new MemoryLogger();
  const store = new DeliveryStore(new Database(':memory:'));
  const broker = new MemoryBroker();
  const notifiers = new Notifiers({
    configs: notifiersSchema.parse(configs),
    clock,
    logger,
    publisher: broker,
    store,
    timezone,
    hubName: 'shed',
  });
  notifiers.start();
  cleanups.add(() => {
    notifiers.stop();
    store.close();
  });
  return { clock, logger, store, broker, notifiers };
}

const note = (over: Partial<Notification> = {}): Notification => ({
  title: 'gh-1 is hot',
  message: 'gh-1 reads 31.5 °C',
  priority: 'high',
  source: 'rule:too-hot',
  tags: ['major', 'raised'],
  ...over,
});

describe('ntfy, Telegram and webhook against a local stand-in', () => {
  it('ntfy: POST {server}/{topic} with Title, Priority, Tags and the token from token_file; the message as body', async () => {
    const server = await new StandIn().start();
    cleanups.add(() => server.stop());
    const tokenFile = join(temp.make(), 'ntfy-token');
    writeFileSync(tokenFile, 'tk_secret123\n');
    const { notifiers, store, logger } = rig({
      phone: { type: 'ntfy', server: server.url, topic: 'shed-alerts', token_file: tokenFile },
    });
    const receipt = await notifiers.notify('phone', note({ title: 'Gewächshaus heiß' }));
    expect(receipt.outcome).toBe('queued');
    await notifiers.whenIdle();
    const [req] = server.seen;
    expect(req).toMatchObject({ method: 'POST', url: '/shed-alerts', body: 'gh-1 reads 31.5 °C' });
    expect(req?.headers).toMatchObject({
      // Not plain ASCII: RFC 2047, which ntfy decodes.
      title: `=?UTF-8?B?${Buffer.from('Gewächshaus heiß').toString('base64')}?=`,
      priority: '4',
      tags: 'major,raised',
      authorization: 'Bearer tk_secret123',
    });
    expect(store.recent()[0]).toMatchObject({ id: receipt.id, state: 'delivered', attempts: 1, error: null });
    expect(JSON.stringify(logger.entries)).not.toContain('tk_secret123');
  });

  it('Telegram: POST {api_base}/bot{token}/sendMessage with JSON {chat_id, text}; the token from token_env never logged', async () => {
    const server = await new StandIn((n) => (n === 0 ? 400 : 200)).start();
    cleanups.add(() => server.stop());
    process.env.EDGEHUB_TEST_TG_TOKEN = '123456:ABC-secret';
    const { notifiers, store, logger } = rig({
      tg: { type: 'telegram', api_base: server.url, chat_id: -100042, token_env: 'EDGEHUB_TEST_TG_TOKEN' },
    });
    await notifiers.notify('tg', note({ priority: 'low' }));
    await notifiers.whenIdle();
    const [req] = server.seen;
    expect(req?.url).toBe('/bot123456:ABC-secret/sendMessage');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body ?? '')).toEqual({
      chat_id: -100042,
      text: 'gh-1 is hot\ngh-1 reads 31.5 °C',
      disable_notification: true,
    });
    // A 400 is Telegram refusing for good (a wrong chat id): failed at once, not retried.
    expect(server.seen).toHaveLength(1);
    const [record] = store.recent();
    expect(record).toMatchObject({ state: 'failed', attempts: 1 });
    expect(record?.error).toMatch(/^telegram tg: HTTP 400/);
    const everything = JSON.stringify([logger.entries, store.recent()]);
    expect(everything).not.toContain('ABC-secret');
  });

  it('webhook: a JSON body signed as Standard Webhooks 1.0, checked here with node:crypto', async () => {
    const server = await new StandIn().start();
    cleanups.add(() => server.stop());
    const key = Buffer.from('a very secret key of 32 bytes!!!');
    process.env.EDGEHUB_TEST_TG_TOKEN = `whsec_${key.toString('base64')}`;
    const { notifiers, clock } = rig({
      hook: {
        type: 'webhook',
        url: `${server.url}/hooks/edgehub`,
        secret_env: 'EDGEHUB_TEST_TG_TOKEN',
        headers: { 'x-site': 'shed' },
      },
    });
    const receipt = await notifiers.notify('hook', note());
    await notifiers.whenIdle();
    const [req] = server.seen;
    expect(req?.url).toBe('/hooks/edgehub');
    const id = req?.headers['webhook-id'] as string;
    const timestamp = req?.headers['webhook-timestamp'] as string;
    expect(id).toMatch(/^msg_/);
    expect(timestamp).toBe(String(Math.floor(clock.now() / 1000)));
    const expected = createHmac('sha256', key)
      .update(`${id}.${timestamp}.${req?.body ?? ''}`)
      .digest('base64');
    expect(req?.headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(req?.headers).toMatchObject({ 'content-type': 'application/json', 'x-site': 'shed' });
    expect(JSON.parse(req?.body ?? '')).toEqual({
      type: 'edgehub.notification',
      id,
      hub: 'shed',
      notifier: 'hook',
      title: 'gh-1 is hot',
      message: 'gh-1 reads 31.5 °C',
      priority: 'high',
      source: 'rule:too-hot',
      tags: ['major', 'raised'],
      at: T0,
    });
    expect(receipt.id).not.toBeNull();
  });
});

describe('retries, timeouts, rate limits and quiet hours on the hub clock', () => {
  it('a stand-in failing twice, then answering: retried after 2 s and 4 s, stored as delivered after 3 attempts', async () => {
    const server = await new StandIn((n) => (n < 2 ? 503 : 200)).start();
    cleanups.add(() => server.stop());
    const { notifiers, clock, store } = rig({ hook: { type: 'webhook', url: server.url, backoff: '2s' } });
    let backoff = clock.nextTimer('notify:hook:backoff');
    const { id } = await notifiers.notify('hook', note());
    await backoff;
    expect(store.recent()[0]).toMatchObject({
      id,
      state: 'pending',
      attempts: 1,
      error: 'webhook hook: HTTP 503 {"ok":true}',
    });
    backoff = clock.nextTimer('notify:hook:backoff');
    clock.advance(1999);
    expect(server.seen).toHaveLength(1);
    clock.advance(1);
    await backoff;
    expect(server.seen).toHaveLength(2);
    clock.advance(4000);
    await server.requests(3);
    await notifiers.whenIdle();
    expect(store.recent()[0]).toMatchObject({ id, state: 'delivered', attempts: 3, error: null });
    expect(clock.now() - T0).toBe(6000);
  });

  it('a stand-in that never answers: each attempt times out, is retried, and the outcome is failed', async () => {
    const server = await new StandIn(() => 'hang').start();
    cleanups.add(() => server.stop());
    const { notifiers, clock, store, logger } = rig({
      hook: { type: 'webhook', url: server.url, timeout: '5s', retries: 1, backoff: '1s' },
    });
    await notifiers.notify('hook', note());
    await server.requests(1);
    const backoff = clock.nextTimer('notify:hook:backoff');
    clock.advance(5000);
    await backoff;
    expect(store.recent()[0]).toMatchObject({
      state: 'pending',
      attempts: 1,
      error: 'no answer within 5000 ms',
    });
    const timeout = clock.nextTimer('notify:hook:timeout');
    clock.advance(1000);
    await timeout;
    await server.requests(2);
    clock.advance(5000);
    await notifiers.whenIdle();
    expect(store.recent()[0]).toMatchObject({
      state: 'failed',
      attempts: 2,
      error: 'no answer within 5000 ms',
    });
    expect(logger.entries.filter((e) => e.level === 'warn').map((e) => e.msg)).toEqual([
      expect.stringMatching(/through hook failed/),
    ]);
  });

  it('over the rate limit notifications are dropped and counted, logged once; the next window takes them again', async () => {
    const { notifiers, clock, broker, logger } = rig({
      bus: { type: 'mqtt', topic: 'edgehub/notify', rate_limit: { max: 2, per: '1m' } },
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++)
      outcomes.push((await notifiers.notify('bus', note({ title: `n${i}` }))).outcome);
    expect(outcomes).toEqual(['queued', 'queued', 'dropped', 'dropped', 'dropped']);
    await notifiers.whenIdle();
    expect(broker.sent.map((m) => (JSON.parse(m.payload.toString()) as { title: string }).title)).toEqual([
      'n0',
      'n1',
    ]);
    expect(broker.sent[0]).toMatchObject({ topic: 'edgehub/notify', qos: 1, retain: false });
    expect(logger.entries.filter((e) => e.msg.includes('rate limited'))).toHaveLength(1);
    expect(notifiers.stats()[0]).toMatchObject({ accepted: 2, dropped: 3, delivered: 2 });
    clock.advance(60_000);
    expect((await notifiers.notify('bus', note())).outcome).toBe('queued');
  });

  it('in quiet hours a notification is held until they end, an urgent one is sent at once', async () => {
    const { notifiers, clock, broker, store } = rig({
      bus: { type: 'mqtt', topic: 'edgehub/notify', quiet_hours: { from: '22:00', to: '07:00' } },
    });
    // T0 is 22:13:20 UTC: inside the quiet hours.
    const held = await notifiers.notify('bus', note({ title: 'can wait', priority: 'high' }));
    const urgent = await notifiers.notify('bus', note({ title: 'fire', priority: 'urgent' }));
    expect([held.outcome, urgent.outcome]).toEqual(['held', 'queued']);
    await notifiers.whenIdle();
    expect(broker.sent).toHaveLength(1);
    expect(store.recent({ limit: 5 }).map((r) => [r.title, r.state])).toEqual([
      ['fire', 'delivered'],
      ['can wait', 'held'],
    ]);
    expect(clock.pending()).toEqual(['notify:bus:quiet-hours']);
    const sevenAm = Date.UTC(2023, 10, 15, 7, 0, 0);
    clock.advanceTo(sevenAm - 1);
    expect(broker.sent).toHaveLength(1);
    clock.advanceTo(sevenAm);
    await notifiers.whenIdle();
    expect(broker.sent.map((m) => (JSON.parse(m.payload.toString()) as { title: string }).title)).toEqual([
      'fire',
      'can wait',
    ]);
    expect(store.recent().find((r) => r.id === held.id)).toMatchObject({
      title: 'can wait',
      state: 'delivered',
    });
  });

  it('a delivery held when the hub stopped is sent by the next start once the quiet hours end', async () => {
    const dir = temp.make();
    const configs = notifiersSchema.parse({
      bus: { type: 'mqtt', topic: 't', quiet_hours: { from: '22:00', to: '07:00' } },
    });
    const start = (clock: SignallingClock, broker: MemoryBroker) => {
      const store = DeliveryStore.open(dir);
      const notifiers = new Notifiers({
        configs,
        clock,
        logger: new MemoryLogger(),
        publisher: broker,
        store,
        timezone: 'UTC',
        hubName: 'shed',
      });
      notifiers.start();
      return { notifiers, store };
    };
    const first = start(new SignallingClock(T0), new MemoryBroker());
    expect((await first.notifiers.notify('bus', note())).outcome).toBe('held');
    first.notifiers.stop();
    first.store.close();
    const broker = new MemoryBroker();
    const second = start(new SignallingClock(Date.UTC(2023, 10, 15, 8)), broker);
    cleanups.add(() => {
      second.notifiers.stop();
      second.store.close();
    });
    await second.notifiers.whenIdle();
    expect(broker.sent).toHaveLength(1);
    expect(second.store.recent()[0]).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('an unknown notifier is NOTIFIER_UNKNOWN; an unreadable secret stops the start with NOTIFIER_CREDENTIALS', async () => {
    const { notifiers } = rig({ bus: { type: 'mqtt', topic: 't' } });
    await expect(notifiers.notify('nope', note())).rejects.toMatchObject({ code: 'NOTIFIER_UNKNOWN' });
    expect(() => rig({ phone: { type: 'ntfy', topic: 'x', token_env: 'EDGEHUB_TEST_UNSET_TOKEN' } })).toThrow(
      expect.objectContaining({ code: 'NOTIFIER_CREDENTIALS' }),
    );
  });
});
