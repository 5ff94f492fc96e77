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
    const { clock, logger, publisher, source } = this.deps;
    const factories = this.deps.factories ?? ADAPTER_FACTORIES;
    const sink = new BrokerSink({ publisher, logger });
    const kinds = new Set(definitions.map((d) => d.adapter));
    for (const kind of kinds) {
      const factory = factories[kind];
      if (!factory) {
        const ids = definitions.filter((d) => d.adapter === kind).map((d) => d.id);
        throw new EdgehubError(
          'DEVICE_ADAPTER_MISSING',
          `no ${kind} adapter is built in; devices ${ids.join(', ')} need one`,
        );
      }
      const adapter = factory({
        clock,
        logger: logger.child(kind),
        devices: definitions.filter((d) => d.adapter === kind),
        sink,
        publisher,
      });
      await adapter.start();
      this.adapters.set(kind, adapter);
    }
    this.actuators?.start();
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
    for (const [kind, adapter] of [...this.adapters].reverse()) {
      try {
        await adapter.stop();
      } catch (err) {
        this.deps.logger.error(`stopping the ${kind} adapter failed`, { error: errorMessage(err) });
      }
    }
  }
}
