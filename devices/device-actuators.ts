import {
  decodeMessage,
  errorMessage,
  type Actuators,
  type Clock,
  type CommandResult,
  type Logger,
  type MessageSource,
  type MqttMessage,
  type Publisher,
} from '../kernel/index.js';
import type { ActuatorCommand, AdapterKind, DeviceAdapter, DeviceCommandSet } from './adapter.js';
import { parseActuatorValue } from './commands.js';
import type { DeviceDefinition } from './definition.js';
import { SafetyEnvelope, type RefusalKind } from './safety-envelope.js';
import { HUB_TOPICS, TOPICS } from '../kernel/index.js';
import { CommandRoutes } from './command-routes.js';

/** Where Home Assistant (or anyone) asks for a guarded command: `<root>/<device>/<actuator>[/brightness]`. */
export const DEFAULT_COMMAND_ROOT = 'edgehub/set';

export interface DeviceActuatorsDeps {
  clock: Clock;
  logger: Logger;
  devices: readonly DeviceDefinition[];
  adapters: ReadonlyMap<AdapterKind, DeviceAdapter>;
  /** Records commands of non-MQTT adapters on the broker, so the store has every command. */
  publisher: Publisher;
  /** Brings the guarded command topics (`<commandRoot>/…`). */
  source: MessageSource;
  /** Default {@link DEFAULT_COMMAND_ROOT}. */
  commandRoot?: string;
}

export interface ActuatorStats {
  accepted: number;
  refused: Record<RefusalKind, number>;
  /** Fail-safe commands sent (stale input or hub stop). */
  failSafe: number;
}

/**
 * The hub's {@link Actuators}: every command, from a rule, Home Assistant or the CLI, is normalised,
 * passes the {@link SafetyEnvelope} and goes to its device's adapter. Refusals are logged, counted
 * and returned as `{accepted: false, reason}`. On stop, every actuator with a `safety:` section is
 * sent its fail-safe state before the broker closes.
 */
export class DeviceActuators implements Actuators {
  readonly envelope: SafetyEnvelope;
  private readonly devices = new Map<string, DeviceDefinition>();
  private readonly counters: ActuatorStats = {
    accepted: 0,
    refused: {
      min_on: 0,
      min_off: 0,
      max_rate: 0,
      interlock: 0,
      fail_safe: 0,
      unknown_device: 0,
      unknown_actuator: 0,
      invalid: 0,
      adapter: 0,
      starting: 0,
    },
    failSafe: 0,
  };
  private readonly commandRoot: string;
  private routes: CommandRoutes;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: DeviceActuatorsDeps) {
    for (const d of deps.devices) this.devices.set(d.id, d);
    this.commandRoot = deps.commandRoot ?? DEFAULT_COMMAND_ROOT;
    this.routes = new CommandRoutes(deps.devices);
    this.envelope = new SafetyEnvelope({
      clock: deps.clock,
      logger: deps.logger,
      devices: deps.devices,
      onStale: (_sensor, actuators) => void this.forceFailSafe(actuators, 'fail-safe: stale input'),
    });
  }

  /**
   * New definitions (a device reload). An actuator no longer defined is sent its fail-safe state
   * first, while its definition still holds; then commands to a removed device are refused, a new
   * one's command topics are guarded, and the envelope keeps what it knows of actuators still defined.
   */
  async update(devices: readonly DeviceDefinition[]): Promise<void> {
    const kept = new Set(devices.flatMap((d) => d.actuators.map((a) => `${d.id}/${a.name}`)));
    const dropped = this.envelope
      .failSafeStates()
      .map((s) => `${s.deviceId}/${s.name}`)
      .filter((key) => !kept.has(key));
    if (this.started && !this.stopping && dropped.length > 0)
      await this.forceFailSafe(dropped, 'fail-safe: definition removed');
    this.devices.clear();
    for (const d of devices) this.devices.set(d.id, d);
    this.routes = new CommandRoutes(devices);
    this.envelope.update(devices);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.envelope.start();
    this.deps.source.onMessage(this, (m) => this.onMessage(m));
  }

  /** Sends every fail-safe state, then stops watching; idempotent. Call before the broker stops. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  stats(): ActuatorStats {
    return { ...this.counters, refused: { ...this.counters.refused } };
  }

  command(deviceId: string, set: Readonly<Record<string, unknown>>, origin: string): Promise<CommandResult> {
    const device = this.devices.get(deviceId);
    if (!device)
      return Promise.resolve(
        this.refuse('unknown_device', `no device ${deviceId} is defined`, deviceId, origin),
      );
    if (!this.started) return Promise.resolve(this.refuseStarting(deviceId, origin));
    const decided = this.decide(device, set, origin);
    return decided.ok ? this.send(device, decided.set, origin) : Promise.resolve(decided.refused);
  }

  /**
   * A message published to a defined actuator's command topic (`actuators/<device>/<actuator>`, or
   * the device's own: Tasmota's `cmnd/…`, zigbee2mqtt's `…/set`) by an MQTT client or a rule's
   * `publish:`, held to the safety envelope like any command. Undefined when `topic` is no command
   * topic. Decided at once: when accepted, the message itself goes on to the device (its adapter
   * also sends it when the device listens elsewhere, a serial board say); when refused, it must not
   * be delivered, and the refusal is logged, counted and published on `edgehub/devices/<id>/refusal`.
   */
  guard(topic: string, payload: Buffer | string, origin: string): CommandResult | undefined {
    const request = this.routes.match(topic, payload);
    if (!request) return undefined;
    const { device } = request;
    if (!this.started) return this.refuseStarting(device.id, origin);
    if (request.problem !== undefined) return this.refuse('invalid', request.problem, device.id, origin);
    const decided = this.decide(device, request.set, origin);
    if (!decided.ok) return decided.refused;
    if (request.native) {
      this.counters.accepted++;
    } else {
      // The message itself stays the record of the command in the event store.
      void this.send(device, decided.set, origin, { record: false });
    }
    return { accepted: true };
  }

  /** The parsed set once it passed the envelope (committed), or the refusal. */
  private decide(
    device: DeviceDefinition,
    set: Readonly<Record<string, unknown>>,
    origin: string,
  ): { ok: true; set: DeviceCommandSet } | { ok: false; refused: CommandResult } {
    const deviceId = device.id;
    const parsed: Record<string, ActuatorCommand> = {};
    for (const [name, value] of Object.entries(set)) {
      const actuator = device.actuators.find((a) => a.name === name);
      if (!actuator)
        return this.refused('unknown_actuator', `${deviceId} has no actuator ${name}`, deviceId, origin);
      const command = parseActuatorValue(actuator, value);
      if (typeof command === 'string') return this.refused('invalid', command, deviceId, origin);
      parsed[name] = command;
    }
    if (Object.keys(parsed).length === 0) return this.refused('invalid', 'nothing to set', deviceId, origin);
    if (!this.started || this.stopping)
      return this.refused('adapter', 'the hub is stopping', deviceId, origin);
    const verdict = this.envelope.check(deviceId, parsed);
    if (!verdict.ok) return this.refused(verdict.kind, verdict.reason, deviceId, origin);
    // Committed before any await, so a command racing this one already sees the new state.
    this.envelope.commit(deviceId, parsed);
    return { ok: true, set: parsed };
  }

  /** The registry saw a reading or actuator state: feeds staleness and reported states. */
  noteReading(deviceId: string, metric: string, value: unknown, at: number): void {
    this.envelope.observeReading(deviceId, metric, at);
    if (typeof value === 'boolean') this.envelope.observeState(deviceId, metric, value, at);
  }

  private async send(
    device: DeviceDefinition,
    set: DeviceCommandSet,
    origin: string,
    options: { record: boolean } = { record: true },
  ): Promise<CommandResult> {
    const adapter = this.deps.adapters.get(device.adapter);
    if (!adapter) return this.refuse('adapter', `no ${device.adapter} adapter is running`, device.id, origin);
    if (adapter.kind !== 'mqtt' && options.record) this.record(device, set, origin);
    let result: CommandResult;
    try {
      result = await adapter.command(device, set, origin);
    } catch (err) {
      result = { accepted: false, reason: errorMessage(err) };
    }
    if (!result.accepted)
      return this.refuse('adapter', result.reason ?? 'refused by the adapter', device.id, origin);
    this.counters.accepted++;
    return result;
  }

  private record(device: DeviceDefinition, set: DeviceCommandSet, origin: string): void {
    for (const [name, command] of Object.entries(set)) {
      this.deps.publisher
        .publish({
          topic: TOPICS.command(device.id, name),
          payload: JSON.stringify({ ...command, origin }),
          qos: 0,
        })
        .catch((err: unknown) =>
          this.deps.logger.debug('command record not published', { error: errorMessage(err) }),
        );
    }
  }

  private refused(
    kind: RefusalKind,
    reason: string,
    deviceId: string,
    origin: string,
  ): { ok: false; refused: CommandResult } {
    return { ok: false, refused: this.refuse(kind, reason, deviceId, origin) };
  }

  /**
   * Before start the adapters are not running and the envelope holds no state: a command then could
   * neither be checked nor sent, so it is refused rather than let through unguarded.
   */
  private refuseStarting(deviceId: string, origin: string): CommandResult {
    return this.refuse(
      'starting',
      `the device adapters are not running (the hub is starting or stopping); ${deviceId} takes commands once they run`,
      deviceId,
      origin,
    );
  }

  private refuse(kind: RefusalKind, reason: string, deviceId: string, origin: string): CommandResult {
    this.counters.refused[kind]++;
    this.deps.logger.warn(`command refused: ${reason}`, { device: deviceId, origin, refusal: kind });
    // Whoever sent it can hear why; a device that is not defined has no topic of its own.
    if (this.devices.has(deviceId)) {
      const refusal = { refusal: kind, reason, origin, at: this.deps.clock.now() };
      this.deps.publisher
        .publish({ topic: HUB_TOPICS.refusal(deviceId), payload: JSON.stringify(refusal), qos: 0 })
        .catch((err: unknown) =>
          this.deps.logger.debug('refusal not published', { error: errorMessage(err) }),
        );
    }
    return { accepted: false, reason };
  }

  /** Sends fail-safe states past the minimum times and rate (safety wins), never past an interlock. */
  private async forceFailSafe(keys: readonly string[], origin: string): Promise<void> {
    const byDevice = new Map<string, Record<string, ActuatorCommand>>();
    const states = this.envelope.failSafeStates();
    for (const key of keys) {
      const state = states.find((s) => `${s.deviceId}/${s.name}` === key);
      if (!state) continue;
      if (state.on) {
        const blocking = this.envelope.interlockedOn(key);
        if (blocking !== undefined) {
          this.deps.logger.error(
            `fail-safe on for ${key} not sent: interlocked with ${blocking}, which is on`,
          );
          continue;
        }
      }
      const set = byDevice.get(state.deviceId) ?? {};
      set[state.name] = { on: state.on };
      byDevice.set(state.deviceId, set);
    }
    await Promise.all(
      [...byDevice].map(async ([deviceId, set]) => {
        const device = this.devices.get(deviceId);
        if (!device) return;
        this.envelope.commit(deviceId, set);
        this.counters.failSafe += Object.keys(set).length;
        const result = await this.send(device, set, origin);
        if (result.accepted) this.deps.logger.info(`fail-safe sent to ${deviceId}`, { set, origin });
      }),
    );
  }

  private async shutdown(): Promise<void> {
    if (!this.started) return;
    this.deps.source.offOwner(this);
    this.envelope.stop();
    const keys = this.envelope.failSafeStates().map((s) => `${s.deviceId}/${s.name}`);
    await this.forceFailSafe(keys, 'fail-safe: hub stopping');
    this.started = false;
  }

  /** `<root>/<device>/<actuator>` with ON/OFF or JSON, `<root>/<device>/<actuator>/brightness` with %. */
  private onMessage(message: MqttMessage): void {
    const { topic } = message;
    if (!topic.startsWith(this.commandRoot) || topic.charCodeAt(this.commandRoot.length) !== 0x2f) return;
    const [deviceId, actuator, extra, ...rest] = topic.slice(this.commandRoot.length + 1).split('/');
    if (!deviceId || !actuator || rest.length > 0 || (extra !== undefined && extra !== 'brightness')) return;
    const value = decodeMessage(message).value;
    const set = { [actuator]: extra === 'brightness' ? { brightness: Number(value) } : value };
    const origin = `mqtt:${message.clientId ?? 'hub'}`;
    void this.command(deviceId, set, origin);
  }
}
