// Test support: a bare aedes broker on a loopback port chosen by the OS, and an observing MQTT client
// whose messages a test awaits.
import net from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import type { TypedBus } from '../../kernel/index.js';
import type { SimDevice } from '../../firmware-sim/index.js';

/** An aedes broker on 127.0.0.1, port 0; it can go away and come back on the same port. */
export class TestBroker {
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server;

  private constructor(
    readonly aedes: Aedes,
    private port: number,
  ) {
    this.server = this.createServer();
  }

  static async start(): Promise<TestBroker> {
    const aedes = await Aedes.createBroker();
    const broker = new TestBroker(aedes, 0);
    await broker.listen();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Stops listening and cuts every connection, as a broker host going down would. */
  async goAway(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async comeBack(): Promise<void> {
    this.server = this.createServer();
    await this.listen();
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.goAway();
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  private createServer(): net.Server {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.aedes.handle(socket);
    });
    return server;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address();
    if (address && typeof address === 'object') this.port = address.port;
  }
}

let observers = 0;

export interface Seen {
  topic: string;
  text: string;
  retain: boolean;
}

/** An MQTT client that records what it receives; tests take messages in arrival order. */
export class Observer {
  private readonly seen: Seen[] = [];
  private waiters: { match: (m: Seen) => boolean; resolve: (m: Seen) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const message = { topic, text: payload.toString('utf8'), retain: packet.retain };
      const waiter = this.waiters.find((w) => w.match(message));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(message);
      } else {
        this.seen.push(message);
      }
    });
  }

  static async connect(url: string, topics: string[]): Promise<Observer> {
    // No automatic reconnect: the tests that stop the broker decide themselves what happens next.
    const client = await connectAsync(url, { reconnectPeriod: 0, clientId: `observer-${++observers}` });
    client.on('error', () => undefined);
    const observer = new Observer(client);
    await client.subscribeAsync(topics, { qos: 1 });
    return observer;
  }

  /** The first message on `topic` not yet taken (and matching `where`), waiting for it if need be. */
  take(topic: string, where: (m: Seen) => boolean = () => true): Promise<Seen> {
    const match = (m: Seen) => m.topic === topic && where(m);
    const index = this.seen.findIndex(match);
    if (index >= 0) return Promise.resolve(this.seen.splice(index, 1)[0] as Seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Takes the next message on `topic` and parses it as JSON. */
  async takeJson(topic: string): Promise<unknown> {
    return JSON.parse((await this.take(topic)).text) as unknown;
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** The next `name` event of a bus, as a promise; the listener is removed once it fired. */
export function nextEvent<E extends object, K extends keyof E>(bus: TypedBus<E>, name: K): Promise<E[K]> {
  const owner = {};
  return new Promise((resolve) => {
    bus.on(owner, name, (payload) => {
      bus.offOwner(owner);
      resolve(payload);
    });
  });
}

/** Starts a simulated device and resolves once it is online. */
export async function startOnline(device: SimDevice): Promise<void> {
  const online = nextEvent(device.events, 'online');
  await device.start();
  await online;
}
