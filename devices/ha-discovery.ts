import {
  errorMessage,
  HUB_TOPICS,
  TOPICS,
  utf8,
  type Logger,
  type MessageSource,
  type MqttMessage,
  type Publisher,
  type RetainedReader,
} from '../kernel/index.js';
import type { ActuatorDefinition, DeviceDefinition, SensorDefinition, SensorKind } from './definition.js';
import { DEFAULT_COMMAND_ROOT } from './device-actuators.js';
import { discoveryId } from './discovery-ids.js';
import {
  HUB_AVAILABILITY_TEMPLATE,
  keyPath,
  onOffTemplate,
  percentTemplate,
  valueTemplate,
  Z2M_AVAILABILITY_TEMPLATE,
  type ValueSource,
} from './ha-templates.js';
import { isDimmable, tasmotaKey, tasmotaTopic, z2mKey, z2mTopic } from './mqtt-conventions.js';
import { checkUnit, stateClassOf } from './sensor-units.js';

/** One retained discovery message. */
export interface DiscoveryConfig {
  topic: string;
  config: Record<string, unknown>;
}

/**
 * `entity`: one config per sensor and actuator, `<prefix>/<component>/<node>/<object>/config`.
 * `device`: one config per device, `<prefix>/device/<node>/config`, its entities under `cmps`.
 */
export type DiscoveryMode = 'entity' | 'device';

export interface HaDiscoveryDeps {
  logger: Logger;
  publisher: Publisher;
  source: MessageSource;
  devices: readonly DeviceDefinition[];
  /** Home Assistant's `discovery_prefix`. Default `homeassistant`. */
  prefix?: string;
  /** Default `entity`. */
  mode?: DiscoveryMode;
  /** Where the configs point `command_topic`: the guarded path of `DeviceActuators`. */
  commandRoot?: string;
  /** The hub's name: with it the hub is announced as a device of its own, the others' `via_device`. */
  hubName?: string;
  /** edgehub's version, the `origin` of every config. */
  version?: string;
  /** The broker's retained messages: configs published before and no longer generated are cleared. */
  retained?: RetainedReader;
}

/** The `origin` block: who published a config. Also how configs of ours are told from others'. */
const ORIGIN_NAME = 'edgehub';
const SUPPORT_URL = 'https://www.npmjs.com/package/edgehub';

/** Home Assistant's device classes of sensors, and which kinds are binary. */
const SENSOR_CLASSES: Record<SensorKind, { component: 'sensor' | 'binary_sensor'; deviceClass?: string }> = {
  temperature: { component: 'sensor', deviceClass: 'temperature' },
  humidity: { component: 'sensor', deviceClass: 'humidity' },
  illuminance: { component: 'sensor', deviceClass: 'illuminance' },
  pressure: { component: 'sensor', deviceClass: 'pressure' },
  power: { component: 'sensor', deviceClass: 'power' },
  energy: { component: 'sensor', deviceClass: 'energy' },
  voltage: { component: 'sensor', deviceClass: 'voltage' },
  current: { component: 'sensor', deviceClass: 'current' },
  battery: { component: 'sensor', deviceClass: 'battery' },
  motion: { component: 'binary_sensor', deviceClass: 'motion' },
  door: { component: 'binary_sensor', deviceClass: 'door' },
  generic: { component: 'sensor' },
};

const MANUFACTURERS: Record<DeviceDefinition['convention'], string> = {
  edgehub: 'edgehub',
  tasmota: 'Tasmota',
  zigbee2mqtt: 'Zigbee2MQTT',
};

/** An entity before it is wrapped for its discovery form. */
interface Entity {
  component: string;
  object: string;
  config: Record<string, unknown>;
}

/** One device's entities and the `device` block they share. */
interface Announced {
  node: string;
  device: Record<string, unknown>;
  entities: Entity[];
}

/**
 * Home Assistant MQTT discovery for every defined device and for the hub itself: retained configs
 * (`sensor` / `binary_sensor` per sensor, `switch` / `light` per actuator), published on start and
 * again whenever Home Assistant announces itself with `online` on its status topic. Configs edgehub
 * published before and no longer generates are cleared, so a removed device leaves Home Assistant.
 * Commands from Home Assistant go to the hub's guarded command topics, never straight to the device,
 * so the safety envelope holds.
 */
export class HaDiscovery {
  private readonly prefix: string;
  private readonly commandRoot: string;
  private devices: readonly DeviceDefinition[];
  private started = false;
  private publishedCount = 0;
  private clearedCount = 0;

  constructor(private readonly deps: HaDiscoveryDeps) {
    this.prefix = deps.prefix ?? 'homeassistant';
    this.commandRoot = deps.commandRoot ?? DEFAULT_COMMAND_ROOT;
    this.devices = deps.devices;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.deps.source.onMessage(this, (m) => this.onMessage(m));
    await this.publishAll();
    await this.clearGhosts();
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.deps.source.offOwner(this);
  }

  /** New definitions (a device reload): announces them and clears what the old ones had and these lack. */
  async update(devices: readonly DeviceDefinition[]): Promise<void> {
    this.devices = devices;
    if (!this.started) return;
    await this.publishAll();
    await this.clearGhosts();
  }

  /** Discovery messages published so far (each announcement counts every config). */
  get published(): number {
    return this.publishedCount;
  }

  /** Stale configs of edgehub's cleared so far. */
  get cleared(): number {
    return this.clearedCount;
  }

  /** Every config: the hub's, then each device's. */
  configs(): DiscoveryConfig[] {
    const hub = this.hubDevice();
    const announced = [...(hub ? [hub] : []), ...this.devices.map((d) => this.announce(d))];
    return announced.flatMap((a) => this.wrap(a));
  }

  async publishAll(): Promise<void> {
    const configs = this.configs();
    try {
      await Promise.all(configs.map((c) => this.send(c.topic, JSON.stringify(c.config))));
      this.publishedCount += configs.length;
      this.deps.logger.info('Home Assistant discovery published', { configs: configs.length });
    } catch (err) {
      this.deps.logger.warn('Home Assistant discovery not published', { error: errorMessage(err) });
    }
  }

  /**
   * Empties every retained discovery config under the prefix that edgehub published (its `origin`
   * says so) and no longer generates, in either discovery form: Home Assistant then removes the
   * entity. Configs of other publishers under the same prefix are left alone.
   */
  async clearGhosts(): Promise<void> {
    const reader = this.deps.retained;
    if (!reader) return;
    const current = new Set(this.configs().map((c) => c.topic));
    try {
      const retained = await reader.retained(`${this.prefix}/#`);
      const ghosts = retained.filter(
        (m) => m.topic.endsWith('/config') && !current.has(m.topic) && isOurs(m.payload),
      );
      await Promise.all(ghosts.map((m) => this.send(m.topic, '')));
      this.clearedCount += ghosts.length;
      if (ghosts.length > 0)
        this.deps.logger.info('Home Assistant discovery cleared for removed entities', {
          configs: ghosts.length,
          topics: ghosts.map((m) => m.topic),
        });
    } catch (err) {
      this.deps.logger.warn('stale Home Assistant discovery not cleared', { error: errorMessage(err) });
    }
  }

  private send(topic: string, payload: string): Promise<void> {
    return this.deps.publisher.publish({ topic, payload, qos: 1, retain: true });
  }

  private onMessage(message: MqttMessage): void {
    // Home Assistant's birth message is on `homeassistant/status` whatever the discovery prefix.
    if (message.topic !== `${this.prefix}/status` && message.topic !== 'homeassistant/status') return;
    if (utf8(message.payload)?.trim().toLowerCase() !== 'online') return;
    // Home Assistant restarted and dropped what it knew: it needs every config again.
    void this.publishAll();
  }

  private wrap(a: Announced): DiscoveryConfig[] {
    const origin = {
      name: ORIGIN_NAME,
      ...(this.deps.version !== undefined && { sw_version: this.deps.version }),
      support_url: SUPPORT_URL,
    };
    if (this.deps.mode === 'device') {
      const cmps = Object.fromEntries(
        a.entities.map((e) => [discoveryId(e.object), { platform: e.component, ...e.config }]),
      );
      return [
        { topic: `${this.prefix}/device/${a.node}/config`, config: { device: a.device, origin, cmps } },
      ];
    }
    return a.entities.map((e) => ({
      topic: `${this.prefix}/${e.component}/${a.node}/${discoveryId(e.object)}/config`,
      config: { ...e.config, device: a.device, origin },
    }));
  }

  /** The hub as a device: is it running, and its figures from `edgehub/stats`. */
  private hubDevice(): Announced | undefined {
    const hubName = this.deps.hubName;
    if (hubName === undefined) return undefined;
    const node = `edgehub_hub_${discoveryId(hubName)}`;
    const entity = (component: string, object: string, config: Record<string, unknown>): Entity => ({
      component,
      object,
      config: {
        unique_id: `${node}_${object}`,
        default_entity_id: `${component}.${slug(`edgehub_${hubName}_${object}`)}`,
        entity_category: 'diagnostic',
        ...config,
      },
    });
    const figure = (object: string, name: string, extra: Record<string, unknown>): Entity =>
      entity('sensor', object, {
        name,
        state_topic: HUB_TOPICS.stats,
        value_template: valueTemplate(keyPath(object)),
        availability_topic: HUB_TOPICS.status,
        ...extra,
      });
    return {
      node,
      device: {
        identifiers: [node],
        name: hubName,
        manufacturer: 'edgehub',
        model: 'edgehub hub',
        ...(this.deps.version !== undefined && { sw_version: this.deps.version }),
      },
      entities: [
        entity('binary_sensor', 'running', {
          name: 'Running',
          state_topic: HUB_TOPICS.status,
          payload_on: 'online',
          payload_off: 'offline',
          device_class: 'connectivity',
        }),
        figure('uptime_s', 'Uptime', { device_class: 'duration', unit_of_measurement: 's' }),
        figure('devices_online', 'Devices online', { state_class: 'measurement' }),
        figure('clients', 'MQTT clients', { state_class: 'measurement' }),
        figure('events_stored', 'Events stored', { state_class: 'total_increasing' }),
      ],
    };
  }

  private announce(d: DeviceDefinition): Announced {
    const node = discoveryId(d.id);
    return {
      node,
      device: {
        identifiers: [`edgehub_${node}`],
        name: d.name ?? d.id,
        manufacturer: d.manufacturer ?? MANUFACTURERS[d.convention],
        ...(d.model !== undefined && { model: d.model }),
        ...(this.deps.hubName !== undefined && {
          via_device: `edgehub_hub_${discoveryId(this.deps.hubName)}`,
        }),
      },
      entities: [
        ...d.sensors.map((s) => this.sensorEntity(d, s)),
        ...d.actuators.map((a) => this.actuatorEntity(d, a)),
      ],
    };
  }

  private sensorEntity(d: DeviceDefinition, s: SensorDefinition): Entity {
    const cls = SENSOR_CLASSES[s.kind];
    const { stateTopic, value } = sensorSource(d, s);
    const binary = cls.component === 'binary_sensor';
    // The definitions were checked at load; a unit that does not check (a definition built in code)
    // is left out rather than announced for Home Assistant to drop the entity over.
    const checked = checkUnit(s.kind, s.unit);
    const unit = 'unit' in checked ? checked.unit : undefined;
    const stateClass = stateClassOf(s.kind, unit);
    const config: Record<string, unknown> = {
      ...common(d, cls.component, s.metric),
      name: s.metric,
      state_topic: stateTopic,
      value_template: binary ? onOffTemplate(value) : valueTemplate(value),
      ...(binary && { payload_on: 'ON', payload_off: 'OFF' }),
      ...(cls.deviceClass !== undefined && { device_class: cls.deviceClass }),
      ...(unit !== undefined && { unit_of_measurement: unit }),
      ...(stateClass !== undefined && { state_class: stateClass }),
    };
    return { component: cls.component, object: s.metric, config };
  }

  private actuatorEntity(d: DeviceDefinition, a: ActuatorDefinition): Entity {
    const component = isDimmable(a) ? 'light' : 'switch';
    const { stateTopic, on, brightness } = actuatorSource(d, a);
    const commandTopic = `${this.commandRoot}/${d.id}/${a.name}`;
    const config: Record<string, unknown> = {
      ...common(d, component, a.name),
      name: a.name,
      command_topic: commandTopic,
      state_topic: stateTopic,
      payload_on: 'ON',
      payload_off: 'OFF',
    };
    if (component === 'switch') {
      config.state_on = 'ON';
      config.state_off = 'OFF';
      config.value_template = onOffTemplate(on);
      if (a.kind === 'relay') config.device_class = 'switch';
      if (a.kind === 'buzzer') config.icon = 'mdi:bullhorn';
    } else {
      config.state_value_template = onOffTemplate(on);
      if (brightness !== undefined) {
        config.brightness_command_topic = `${commandTopic}/brightness`;
        config.brightness_scale = 100;
        config.brightness_state_topic = stateTopic;
        config.brightness_value_template = percentTemplate(brightness.source, brightness.scale);
        // HA sends the brightness alone when dimming; edgehub's brightness command switches on itself.
        config.on_command_type = 'brightness';
      }
    }
    return { component, object: a.name, config };
  }
}

/** The keys every entity of a defined device has: ids and availability. */
function common(d: DeviceDefinition, component: string, object: string): Record<string, unknown> {
  const availability = availabilitySource(d);
  return {
    unique_id: `edgehub_${discoveryId(d.id)}_${discoveryId(object)}`,
    default_entity_id: `${component}.${slug(`${d.id}_${object}`)}`,
    availability_topic: availability.topic,
    payload_available: availability.online,
    payload_not_available: availability.offline,
    availability_template: availability.template,
  };
}

/** An entity id's object part: lower case letters, digits and `_`. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Whether a retained discovery config is one edgehub published. */
function isOurs(payload: Buffer): boolean {
  if (payload.length === 0) return false;
  try {
    const config = JSON.parse(payload.toString('utf8')) as {
      origin?: { name?: unknown };
      o?: { name?: unknown };
    };
    return (config.origin ?? config.o)?.name === ORIGIN_NAME;
  } catch {
    return false;
  }
}

function sensorSource(d: DeviceDefinition, s: SensorDefinition): { stateTopic: string; value: ValueSource } {
  switch (d.convention) {
    case 'tasmota':
      return { stateTopic: `tele/${tasmotaTopic(d)}/SENSOR`, value: keyPath(s.key ?? s.metric) };
    case 'zigbee2mqtt':
      return { stateTopic: z2mTopic(d), value: keyPath(s.key ?? s.metric) };
    case 'edgehub':
      return { stateTopic: TOPICS.reading(d.id, s.metric), value: { kind: 'reading' } };
  }
}

function actuatorSource(
  d: DeviceDefinition,
  a: ActuatorDefinition,
): { stateTopic: string; on: ValueSource; brightness?: { source: ValueSource; scale: number } } {
  switch (d.convention) {
    case 'tasmota':
      // A dimmable Tasmota light reports on stat/<topic>/RESULT, `{"POWER": "ON", "Dimmer": 40}`,
      // and a fade sends Dimmer alone; a plain relay its bare ON/OFF on stat/<topic>/POWER.
      return isDimmable(a)
        ? {
            stateTopic: `stat/${tasmotaTopic(d)}/RESULT`,
            on: keyPath(tasmotaKey(a)),
            brightness: { source: keyPath('Dimmer'), scale: 100 },
          }
        : { stateTopic: `stat/${tasmotaTopic(d)}/${tasmotaKey(a)}`, on: { kind: 'text' } };
    case 'zigbee2mqtt': {
      const key = z2mKey(a);
      const brightnessKey = key === 'state' ? 'brightness' : key.replace(/^state/, 'brightness');
      return {
        stateTopic: z2mTopic(d),
        on: keyPath(key),
        ...(isDimmable(a) && { brightness: { source: keyPath(brightnessKey), scale: 254 } }),
      };
    }
    case 'edgehub':
      // `{"on": b, "brightness": %}`, as every edgehub adapter and the simulated firmware report it;
      // a `light` of edgehub's may be a plain on/off output (a Firmata pin), so only a dimmer dims.
      return {
        stateTopic: TOPICS.state(d.id, a.name),
        on: keyPath('on'),
        ...(a.kind === 'dimmer' && { brightness: { source: keyPath('brightness'), scale: 100 } }),
      };
  }
}

/**
 * Tasmota and zigbee2mqtt announce their own availability, retained; for edgehub's own convention
 * the hub publishes what it knows of the device (`HUB_TOPICS.availability`), since a plain MQTT
 * device need not publish any.
 */
function availabilitySource(d: DeviceDefinition): {
  topic: string;
  online: string;
  offline: string;
  template: string;
} {
  switch (d.convention) {
    case 'tasmota':
      return {
        topic: `tele/${tasmotaTopic(d)}/LWT`,
        online: 'Online',
        offline: 'Offline',
        template: '{{ value | trim }}',
      };
    case 'zigbee2mqtt':
      return {
        topic: `${z2mTopic(d)}/availability`,
        online: 'online',
        offline: 'offline',
        template: Z2M_AVAILABILITY_TEMPLATE,
      };
    case 'edgehub':
      return {
        topic: HUB_TOPICS.availability(d.id),
        online: 'online',
        offline: 'offline',
        template: HUB_AVAILABILITY_TEMPLATE,
      };
  }
}
