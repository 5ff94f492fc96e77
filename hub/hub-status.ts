import {
  errorMessage,
  HUB_TOPICS,
  type Clock,
  type DeviceAvailability,
  type Logger,
  type Publisher,
  type TimerHandle,
} from '../kernel/index.js';
import type { HubBus } from './events.js';
import type { Hub } from './hub.js';

/** The hub's figures on `edgehub/stats`. */
export interface HubFigures {
  uptime_s: number;
  devices_online: number;
  clients: number;
  /** Events written to the store since start; absent without a store. */
  events_stored?: number;
}

export interface HubStatusDeps {
  clock: Clock;
  logger: Logger;
  publisher: Publisher;
  bus: HubBus;
  /** The defined devices and what the registry knows of each now. */
  devices: () => readonly { id: string; declared: boolean; status: DeviceAvailability }[];
  figures: () => HubFigures;
  /** How often the figures go out; default one minute. */
  statsEveryMs?: number;
}

/**
 * What the hub says about itself on MQTT, retained so a dashboard or Home Assistant that connects
 * later sees it at once: `online` / `offline` on `edgehub/status`, its figures on `edgehub/stats`,
 * and the availability of every defined device on `edgehub/devices/<id>/availability`, as the
 * registry tracks it (a reading makes a device online, `stale_after` stale, a last will offline),
 * so a device that publishes no availability of its own is still shown as it is.
 */
export class HubStatus {
  private readonly owner = { name: 'hub status' };
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly deps: HubStatusDeps) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { bus } = this.deps;
    bus.on(this.owner, 'device.status', (c) => {
      if (this.deps.devices().some((d) => d.id === c.deviceId && d.declared))
        this.send(HUB_TOPICS.availability(c.deviceId), c.status);
    });
    await Promise.all([
      this.publish(HUB_TOPICS.status, 'online'),
      ...this.deps
        .devices()
        .filter((d) => d.declared)
        .map((d) => this.publish(HUB_TOPICS.availability(d.id), d.status)),
    ]);
    this.publishStats();
  }

  /**
   * A device reload: an added device's availability is published as the registry knows it; a
   * removed one's retained availability is cleared, so nobody sees it any more.
   */
  async devicesChanged(added: readonly string[], removed: readonly string[]): Promise<void> {
    const known = new Map(this.deps.devices().map((d) => [d.id, d.status]));
    await Promise.all([
      ...added.map((id) => this.publish(HUB_TOPICS.availability(id), known.get(id) ?? 'unknown')),
      ...removed.map((id) => this.publish(HUB_TOPICS.availability(id), '')),
    ]);
  }

  /** Says `offline` while the broker still runs; the figures stop. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.deps.bus.offOwner(this.owner);
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
    await this.publish(HUB_TOPICS.status, 'offline').catch((err: unknown) =>
      this.deps.logger.warn('publishing the hub status failed', { error: errorMessage(err) }),
    );
  }

  private publishStats(): void {
    this.send(HUB_TOPICS.stats, JSON.stringify(this.deps.figures()));
    this.timer = this.deps.clock.setTimer('hub.stats', this.deps.statsEveryMs ?? 60_000, () =>
      this.publishStats(),
    );
  }

  private publish(topic: string, payload: string): Promise<void> {
    return this.deps.publisher.publish({ topic, payload, qos: 1, retain: true });
  }

  /** Fire and forget: a refusal (the broker stopping) is logged, the next change publishes again. */
  private send(topic: string, payload: string): void {
    this.publish(topic, payload).catch((err: unknown) => {
      if (this.running)
        this.deps.logger.warn('publishing hub status failed', { topic, error: errorMessage(err) });
    });
  }
}

/** The status of `hub`, its figures read from its parts each time they are published. */
export function hubStatusOf(hub: Hub, logger: Logger): HubStatus {
  const startedAt = hub.clock.now();
  return new HubStatus({
    clock: hub.clock,
    logger,
    publisher: hub.broker,
    bus: hub.bus,
    devices: () => hub.registry.list(),
    figures: () => ({
      uptime_s: Math.round((hub.clock.now() - startedAt) / 1000),
      devices_online: hub.registry.list().filter((d) => d.status === 'online').length,
      clients: hub.broker.stats().clients,
      ...(hub.store && { events_stored: hub.store.stats().stored }),
    }),
  });
}
