import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { TOPICS } from '../kernel/index.js';
import {
  BackoffTimer,
  DEFAULT_BACKOFF,
  EdgehubError,
  errorMessage,
  TypedBus,
  type BackoffOptions,
  type Clock,
  type Logger,
  type QoS,
} from '../kernel/index.js';
import type { RandomSource } from './random.js';

/** What a part (a sensor, an actuator) may use of the device that carries it. */
export interface SimDevicePort {
  readonly deviceId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: RandomSource;
  /** True between CONNACK and the loss of the connection. */
  isOnline(): boolean;
  /**
   * Publishes through the device's connection. Returns false, and drops the message, while the device
   * is offline: firmware with no storage does not buffer readings, and an unbounded queue would hide
   * an outage from whoever reads the data.
   */
  publish(topic: string, payload: string, options?: { qos?: QoS; retain?: boolean }): boolean;
}

/** A sensor or actuator on a simulated device. */
export interface SimPart {
  /** Unique on its device, e.g. `temperature` or `fan`. */
  readonly name: string;
  /** Called once by `SimDevice.start()`; the part may start its timers here. */
  attach(port: SimDevicePort): void;
  /** Called once by `SimDevice.stop()`; the part clears its timers here. */
  detach(): void;
  /** Exact topics (no wildcards) this part wants, subscribed again on every connection. */
  subscriptions(): readonly string[];
  /** After every (re)connection, once the subscriptions are in place: e.g. re-announce the state. */
  onOnline?(): void;
  onMessage?(topic: string, payload: Buffer): void;
}

export interface SimDeviceOptions {
  /** Device id: the MQTT client id and the `<device>` level of every topic. */
  id: string;
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** MQTT protocol level: 4 = 3.1.1, 5 = MQTT 5. Default 4. */
  protocolVersion?: 4 | 5;
  parts?: readonly SimPart[];
  backoff?: Partial<BackoffOptions>;
  /** MQTT keep-alive, s. Default 30. */
  keepaliveS?: number;
  username?: string;
  password?: string;
}

export interface SimDeviceDeps {
  clock: Clock;
  /**
   * The clock lent to the parts (signals, sampling intervals); default `clock`. A fleet run faster than
   * real time gives parts a sped-up clock while connection timers (backoff, stop timeout) stay real.
   */
  partClock?: Clock;
  logger: Logger;
  /** Drives the reconnect jitter and is lent to the parts; default `Math.random`. */
  random?: RandomSource;
}

export interface SimDeviceEvents {
  /** Connected, `online` published and every part's subscriptions in place. */
  online: { deviceId: string };
  /** The connection was lost (not by `stop()`). */
  offline: { deviceId: string; reason: string };
  /** A reconnect attempt is due in `delayMs` ms; `attempt` counts from 1 since the last connection. */
  reconnectScheduled: { deviceId: string; attempt: number; delayMs: number };
}

/** How long a clean stop waits for the broker to acknowledge `offline`, ms, before cutting the socket. */
const STOP_PUBACK_TIMEOUT_MS = 2000;

/** Counters of one device since start, for the fleet's summary line. */
export interface SimDeviceStats {
  /** Readings handed to the connection (`sensors/…`). */
  readings: number;
  /** Messages the parts received (commands). */
  commands: number;
}

export type SimDeviceState = 'idle' | 'connecting' | 'online' | 'waiting' | 'stopping' | 'stopped';

/**
 * One simulated device: a single MQTT client whose id is the device id, carrying sensors and
 * actuators. The broker's last will marks it `offline` when the connection dies; it reconnects with
 * exponential backoff on the injected clock (mqtt.js's own reconnect timer is disabled so tests can
 * drive the backoff on a virtual clock).
 */
export class SimDevice {
  readonly id: string;
  readonly events: TypedBus<SimDeviceEvents>;
  private readonly parts: readonly SimPart[];
  /** Reconnects; its attempt count runs from the last successful connection. */
  private readonly reconnects: BackoffTimer;
  private readonly random: RandomSource;
  private readonly logger: Logger;
  private client: MqttClient | undefined;
  private current: SimDeviceState = 'idle';
  private stopped: Promise<void> | undefined;
  private readonly counters: SimDeviceStats = { readings: 0, commands: 0 };

  constructor(
    private readonly options: SimDeviceOptions,
    private readonly deps: SimDeviceDeps,
  ) {
    this.id = options.id;
    this.parts = options.parts ?? [];
    this.random = deps.random ?? Math.random;
    this.reconnects = new BackoffTimer({
      clock: deps.clock,
      name: `sim:${options.id}:reconnect`,
      options: { ...DEFAULT_BACKOFF, ...options.backoff },
      random: this.random,
    });
    this.logger = deps.logger.child(options.id);
    this.events = new TypedBus<SimDeviceEvents>(this.logger);
    const names = this.parts.map((p) => p.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) {
      throw new EdgehubError('CONFIG_INVALID', `device ${options.id} has two parts named ${duplicate}`);
    }
  }

  get state(): SimDeviceState {
    return this.current;
  }

  get stats(): Readonly<SimDeviceStats> {
    return this.counters;
  }

  /** The part named `name` (`temperature`, `fan`), if this device carries one. */
  part(name: string): SimPart | undefined {
    return this.parts.find((p) => p.name === name);
  }

  /**
   * Starts the parts and the first connection attempt. Resolves without waiting for the broker: a
   * device whose broker is down keeps retrying; listen for `online` to know when it is connected.
   */
  start(): Promise<void> {
    if (this.current !== 'idle') return Promise.resolve();
    // Before the parts: an unusable URL throws here, and no part timer is left running.
    const client = connect(this.options.url, this.clientOptions());
    this.client = client;
    const port = this.port();
    for (const part of this.parts) part.attach(port);
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => this.onClose());
    client.on('error', (err) => this.onError(err));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.current = 'connecting';
    client.connect();
    return Promise.resolve();
  }

  /**
   * Simulates a network failure: the socket dies without a DISCONNECT, so the broker publishes the
   * last will (`offline`); the device then reconnects with backoff, like firmware after a Wi-Fi drop.
   */
  dropConnection(): void {
    if (this.current === 'online' || this.current === 'connecting') this.client?.stream.destroy();
  }

  /**
   * Clean shutdown: publishes `offline` (retained) when connected, then disconnects. Idempotent; clears
   * every timer of the device and its parts. A stopped device does not start again.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    const wasStarted = this.current !== 'idle';
    this.current = 'stopping';
    this.reconnects.cancel();
    if (wasStarted) for (const part of this.parts) part.detach();
    const client = this.client;
    if (client) {
      if (client.connected) {
        try {
          await this.publishUntilClosed(client, TOPICS.availability(this.id), 'offline');
          await client.endAsync();
        } catch (err) {
          this.logger.debug('clean disconnect failed, closing the socket', { error: errorMessage(err) });
          await client.endAsync(true);
        }
      } else {
        await client.endAsync(true);
      }
    }
    this.current = 'stopped';
    this.logger.info('stopped');
  }

  /**
   * Publishes at QoS 1, giving up when the connection closes or no PUBACK comes within
   * STOP_PUBACK_TIMEOUT_MS: a stuck broker must not hang the shutdown of the process.
   */
  private publishUntilClosed(client: MqttClient, topic: string, payload: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = (err: Error | undefined) => {
        client.off('close', onClose);
        this.deps.clock.clearTimer(deadline);
        if (err) reject(err);
        else resolve();
      };
      const onClose = () => settle(new Error('connection closed before PUBACK'));
      const deadline = this.deps.clock.setTimer(`sim:${this.id}:stop`, STOP_PUBACK_TIMEOUT_MS, () =>
        settle(new Error('no PUBACK for offline')),
      );
      client.once('close', onClose);
      client.publish(topic, payload, { qos: 1, retain: true }, (err) => settle(err));
    });
  }

  private clientOptions(): IClientOptions {
    const options: IClientOptions = {
      clientId: this.id,
      protocolVersion: this.options.protocolVersion ?? 4,
      clean: true,
      keepalive: this.options.keepaliveS ?? 30,
      manualConnect: true,
      // Our own backoff timer on the injected clock replaces mqtt.js's fixed-period reconnect.
      reconnectPeriod: 0,
      will: { topic: TOPICS.availability(this.id), payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    if (this.options.username !== undefined) options.username = this.options.username;
    if (this.options.password !== undefined) options.password = this.options.password;
    return options;
  }

  private port(): SimDevicePort {
    return {
      deviceId: this.id,
      clock: this.deps.partClock ?? this.deps.clock,
      logger: this.logger,
      random: this.random,
      isOnline: () => this.current === 'online',
      publish: (topic, payload, options = {}) => {
        const client = this.client;
        if (!client?.connected || this.current === 'stopping' || this.current === 'stopped') return false;
        if (topic.startsWith('sensors/')) this.counters.readings++;
        client.publish(topic, payload, { qos: options.qos ?? 0, retain: options.retain ?? false }, (err) => {
          if (err) this.logger.debug('publish failed', { topic, error: errorMessage(err) });
        });
        return true;
      },
    };
  }

  private onConnect(client: MqttClient): void {
    this.reconnects.reset();
    this.current = 'online';
    this.logger.info('connected', { url: this.options.url });
    client.publish(TOPICS.availability(this.id), 'online', { qos: 1, retain: true }, (err) => {
      if (err) this.logger.debug('availability publish failed', { error: errorMessage(err) });
    });
    void this.subscribeParts(client);
  }

  private async subscribeParts(client: MqttClient): Promise<void> {
    const topics = this.parts.flatMap((p) => p.subscriptions());
    try {
      if (topics.length > 0) await client.subscribeAsync([...topics], { qos: 1 });
    } catch (err) {
      // A connection lost mid-SUBSCRIBE is retried by the reconnect path; nothing more to do here.
      this.logger.warn('subscribe failed', { topics, error: errorMessage(err) });
      return;
    }
    if (this.current !== 'online' || !client.connected) return;
    for (const part of this.parts) {
      try {
        part.onOnline?.();
      } catch (err) {
        this.logger.error('part failed on connect', { part: part.name, error: errorMessage(err) });
      }
    }
    this.events.emit('online', { deviceId: this.id });
  }

  private onClose(): void {
    if (this.current === 'stopping' || this.current === 'stopped') return;
    if (this.current === 'online') {
      this.logger.warn('connection lost');
      this.events.emit('offline', { deviceId: this.id, reason: 'connection closed' });
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delayMs = this.reconnects.schedule(() => {
      if (this.current !== 'waiting') return;
      this.current = 'connecting';
      this.client?.reconnect();
    });
    if (delayMs === undefined) return;
    this.current = 'waiting';
    const attempt = this.reconnects.attempts;
    this.logger.debug('reconnect scheduled', { attempt, delayMs });
    this.events.emit('reconnectScheduled', { deviceId: this.id, attempt, delayMs });
  }

  private onError(err: Error): void {
    // Refused connections repeat at every backoff step while the broker is down: only the first is news.
    const attempt = this.reconnects.attempts;
    const fields = { error: errorMessage(err), attempt };
    if (attempt <= 1) this.logger.warn('mqtt error', fields);
    else this.logger.debug('mqtt error', fields);
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.counters.commands++;
    for (const part of this.parts) {
      if (!part.onMessage || !part.subscriptions().includes(topic)) continue;
      try {
        part.onMessage(topic, payload);
      } catch (err) {
        this.logger.error('part failed on message', { part: part.name, topic, error: errorMessage(err) });
      }
    }
  }
}
