/**
 * The contract between edgehub and a device adapter (MQTT, serial, Firmata).
 *
 * How it fits together:
 *
 * - **Definitions.** Every device is defined once (config `devices:` or `hub.devices_dir`), with an
 *   `adapter:` kind. The hub builds one adapter per kind in use and hands it the definitions of that
 *   kind (`AdapterDeps.devices`).
 * - **Commands go down** through `DeviceAdapter.command()`. Nobody calls it directly except the
 *   hub's `Actuators` implementation (`DeviceActuators`), which first normalises the rule's `set:`
 *   into one {@link ActuatorCommand} per actuator and runs it through the actuator safety envelope
 *   (minimum on/off times, switching rate, interlocks, fail-safe). An adapter therefore only receives
 *   commands that were allowed; it answers `{accepted: false, reason}` only for its own failures (port
 *   closed, device not answering).
 * - **Readings, states and availability come up** through the {@link AdapterSink}. The hub's sink
 *   publishes them on the embedded broker under edgehub's own topic convention (see `topics.ts`):
 *     - `reading()` → `sensors/<device>/<metric>` `{"value": v, "at": ms}` (QoS 0, not retained);
 *     - `state()`   → `actuators/<device>/<actuator>/state` `{"on": b, "brightness"?: %}` (retained);
 *     - `status()`  → `devices/<device>/availability` `online` / `offline` (retained).
 *   So the event store keeps them, rules with `mqtt:` triggers see them, and the device registry reads
 *   them like any MQTT device's: one path for every adapter, no adapter talks to the registry itself.
 * - **MQTT devices** need no sink: their messages are on the broker already. Devices speaking a
 *   foreign convention (Tasmota, zigbee2mqtt) are mapped by the registry into the same readings,
 *   states and availability (`mqtt-conventions.ts`), without republishing them.
 * - **Commands are recorded**: the MQTT adapter publishes them through the broker; a serial or
 *   Firmata adapter reports the resulting state through `sink.state()`, and the `DeviceActuators`
 *   publishes every accepted command on `actuators/<device>/<actuator>` for non-MQTT adapters, so the
 *   store holds every command whatever the adapter.
 * - **Time** only through `deps.clock`; an adapter never calls `Date.now()` or `setTimeout`.
 */
import type { Clock, CommandResult, Logger, Publisher } from '../kernel/index.js';
import type { AdapterKind, DeviceDefinition } from './definition.js';

export type { AdapterKind } from './definition.js';

/** One actuator's command, normalised from whatever a rule wrote in `set:`. */
export interface ActuatorCommand {
  on: boolean;
  /** % of full brightness, 0–100, for dimmers and lights; absent leaves it unchanged. */
  brightness?: number;
}

/** Commands for the actuators of one device, by actuator name; all or none are sent. */
export type DeviceCommandSet = Readonly<Record<string, ActuatorCommand>>;

/** An actuator's state as the device reports it. */
export interface ActuatorState {
  on: boolean;
  /** %, 0–100. */
  brightness?: number;
}

/** Where adapters report what devices say; see the file comment for the topics it publishes. */
export interface AdapterSink {
  /** A sensor value; `at` is epoch ms on the hub clock when the adapter received it. */
  reading(deviceId: string, metric: string, value: number | boolean | string, at: number): void;
  /** An actuator's state after a command or a change on the device itself. */
  state(deviceId: string, actuator: string, state: ActuatorState, at: number): void;
  /** The device became reachable (`online`) or not (`offline`: port closed, no answer). */
  status(deviceId: string, status: 'online' | 'offline', at: number): void;
}

export interface AdapterDeps {
  clock: Clock;
  logger: Logger;
  /** The definitions whose `adapter:` is this adapter's kind. */
  devices: readonly DeviceDefinition[];
  sink: AdapterSink;
  /** The embedded broker, for adapters that speak MQTT. */
  publisher: Publisher;
}

/**
 * One kind of device connection. Lifecycle as everywhere in edgehub: the constructor only assigns,
 * `start()` opens ports and starts timers, `stop()` is idempotent and releases all of it.
 */
export interface DeviceAdapter {
  readonly kind: AdapterKind;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Sends already-approved commands to one of this adapter's devices. Resolves once the command is
   * handed to the transport (published, written to the port), not when the device confirms it: the
   * confirmation arrives as a state. `origin` names who asked (a rule id, `homeassistant`, `fail-safe`).
   */
  command(device: DeviceDefinition, set: DeviceCommandSet, origin: string): Promise<CommandResult>;
}

/** Builds an adapter; the hub calls it once per kind that some definition uses. */
export type AdapterFactory = (deps: AdapterDeps) => DeviceAdapter;
