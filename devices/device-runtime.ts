import {
  EdgehubError,
  errorMessage,
  type Actuators,
  type Clock,
  type CommandResult,
  type Logger,
  type MessageSource,
  type Publisher,
  type RetainedReader,
} from '../kernel/index.js';
import type { AdapterFactory, AdapterKind, DeviceAdapter } from './adapter.js';
import { ADAPTER_FACTORIES } from './adapter-factories.js';
import { BrokerSink } from './broker-sink.js';
import type { DeviceDefinition } from './definition.js';
import { DeviceActuators, type ActuatorStats } from './device-actuators.js';
import { HaDiscovery, type DiscoveryMode } from './ha-discovery.js';

export interface DeviceRuntimeDeps {
  clock: Clock;
  logger: Logger;
  /** The embedded broker: commands, adapter reports and discovery are published through it. */
  publisher: Publisher;
  source: MessageSource;
  /** The broker's retained messages, so discovery can clear configs of removed devices. */
  retained?: RetainedReader;
  homeAssistant: { discovery: boolean; prefix: string; mode: DiscoveryMode };
  /** Names the hub in discovery configs. */
  hubName?: string;
  /** edgehub's version, the origin of discovery configs. */
  version?: string;
  /** Replaces the built-in adapter factories (tests). */
  factories?: Partial<Record<AdapterKind, AdapterFactory>>;
}

/**
 * Everything between the hub and its devices, started once the definitions are known and the broker
 * listens: one adapter per kind in use, the guarded {@link Actuators}, and Home Assistant discovery.
 * It is the hub's `Actuators` from construction on; commands before `start()` are refused.
 */
export class DeviceRuntime implements Actuators {
  private adapters = new Map<AdapterKind, DeviceAdapter>();
  private actuators: DeviceActuators | undefined;
  private definitions: readonly DeviceDefinition[] = [];
  private sink: BrokerSink | undefined;
  private discovery: HaDiscovery | undefined;
  private stopping: Promise<void> | undefined;
  private running = false;

  constructor(private readonly deps: DeviceRuntimeDeps) {}

  /**
   * Holds the command topics of `definitions` to the envelope from now on, before the adapters run:
   * until `start` has finished, a command to any of them is refused (`starting`), never let through.
   * Call before the broker listens.
   */
  prepare(definitions: readonly DeviceDefinition[]): void {
    if (this.actuators) return;
    this.definitions = definitions;
    const { clock, logger, publisher, source } = this.deps;
    this.actuators = new DeviceActuators({
      clock,
      logger,
      devices: definitions,
      adapters: this.adapters,
      publisher,
      source,
    });
  }

  /** Starts the adapters of the kinds `definitions` use; throws DEVICE_ADAPTER_MISSING for an unknown kind. */
  async start(definitions: readonly DeviceDefinition[]): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.prepare(definitions);
    for (const kind of new Set(definitions.map((d) => d.adapter))) await this.startAdapter(kind, definitions);
    this.actuators?.start();
    const { logger, publisher, source } = this.deps;
    if (this.deps.homeAssistant.discovery) {
      this.discovery = new HaDiscovery({
        logger: logger.child('homeassistant'),
        publisher,
        source,
        devices: definitions,
        prefix: this.deps.homeAssistant.prefix,
        mode: this.deps.homeAssistant.mode,
        ...(this.deps.retained !== undefined && { retained: this.deps.retained }),
        ...(this.deps.hubName !== undefined && { hubName: this.deps.hubName }),
        ...(this.deps.version !== undefined && { version: this.deps.version }),
      });
      await this.discovery.start();
    }
  }

  /**
   * New definitions (a device reload): actuators no longer defined are sent their fail-safe state
   * first, through the adapter still running; then only the adapters whose kind's definitions changed
   * restart, the envelope takes the new set (keeping what it knows of unchanged actuators), and
   * discovery announces the new set and clears what removed devices had published.
   */
  async update(definitions: readonly DeviceDefinition[]): Promise<void> {
    const before = this.definitions;
    this.definitions = definitions;
    if (!this.actuators) return;
    await this.actuators.update(definitions);
    if (!this.running || this.stopping) return;
    for (const kind of new Set([...before, ...definitions].map((d) => d.adapter))) {
      const ofKind = (list: readonly DeviceDefinition[]): string =>
        JSON.stringify(list.filter((d) => d.adapter === kind));
      if (ofKind(before) === ofKind(definitions)) continue;
      const running = this.adapters.get(kind);
      this.adapters.delete(kind);
      if (running) await this.stopAdapter(kind, running);
      if (definitions.some((d) => d.adapter === kind)) await this.startAdapter(kind, definitions);
    }
    await this.discovery?.update(definitions);
  }

  command(deviceId: string, set: Readonly<Record<string, unknown>>, origin: string): Promise<CommandResult> {
    if (!this.actuators) return Promise.resolve({ accepted: false, reason: 'devices are not started' });
    return this.actuators.command(deviceId, set, origin);
  }

  /** See {@link DeviceActuators.guard}; before `prepare()` no topic is a command topic yet. */
  guard(topic: string, payload: Buffer | string, origin: string): CommandResult | undefined {
    return this.actuators?.guard(topic, payload, origin);
  }

  /** A reading or actuator state seen by the registry (`device.reading`). */
  noteReading(deviceId: string, metric: string, value: unknown, at: number): void {
    this.actuators?.noteReading(deviceId, metric, value, at);
  }

  stats(): ActuatorStats | undefined {
    return this.actuators?.stats();
  }

  get homeAssistant(): HaDiscovery | undefined {
    return this.discovery;
  }

  /** Fail-safe states first (the adapters must still run to send them), then the adapters; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.discovery?.stop();
    await this.actuators?.stop();
    for (const [kind, adapter] of [...this.adapters].reverse()) await this.stopAdapter(kind, adapter);
  }

  /** Builds and starts the adapter of `kind` for its devices among `definitions`. */
  private async startAdapter(kind: AdapterKind, definitions: readonly DeviceDefinition[]): Promise<void> {
    const { clock, logger, publisher } = this.deps;
    const factory = (this.deps.factories ?? ADAPTER_FACTORIES)[kind];
    const devices = definitions.filter((d) => d.adapter === kind);
    if (!factory) {
      throw new EdgehubError(
        'DEVICE_ADAPTER_MISSING',
        `no ${kind} adapter is built in; devices ${devices.map((d) => d.id).join(', ')} need one`,
      );
    }
    this.sink ??= new BrokerSink({ publisher, logger });
    const adapter = factory({ clock, logger: logger.child(kind), devices, sink: this.sink, publisher });
    await adapter.start();
    this.adapters.set(kind, adapter);
  }

  private async stopAdapter(kind: AdapterKind, adapter: DeviceAdapter): Promise<void> {
    try {
      await adapter.stop();
    } catch (err) {
      this.deps.logger.error(`stopping the ${kind} adapter failed`, { error: errorMessage(err) });
    }
  }
}
