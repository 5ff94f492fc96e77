import {
  errorMessage,
  utf8,
  type Logger,
  type MessageSource,
  type MqttMessage,
  type Publisher,
} from '../kernel/index.js';
import type { ActuatorDefinition, DeviceDefinition, SensorDefinition, SensorKind } from './definition.js';
import { DEFAULT_COMMAND_ROOT } from './device-actuators.js';
import { isDimmable, tasmotaKey, tasmotaTopic, z2mKey, z2mTopic } from './mqtt-conventions.js';
import { TOPICS } from '../kernel/index.js';

/** One retained discovery message. */
export interface DiscoveryConfig {
  topic: string;
  config: Record<string, unknown>;
}

export interface HaDiscoveryDeps {
  logger: Logger;
  publisher: Publisher;
  source: MessageSource;
  devices: readonly DeviceDefinition[];
  /** Home Assistant's `discovery_prefix`. Default `homeassistant`. */
  prefix?: string;
  /** Where the configs point `command_topic`: the guarded path of `DeviceActuators`. */
  commandRoot?: string;
  /** Shown as the device's `via_device` / software; the hub's name. */
  hubName?: string;
}

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

/** A truthy reading (`true`, `1`, `"ON"`, `"open"`) as HA's ON/OFF, in Jinja. */
const BINARY_TEMPLATE = (expr: string) =>
  `{{ 'ON' if (${expr}) in [true, 1, '1', 'ON', 'on', 'open', 'true'] else 'OFF' }}`;

/**
 * Home Assistant MQTT discovery for every defined device: a retained config per sensor
 * (`sensor` / `binary_sensor`) and actuator (`switch`, `light`), published on start and again whenever
 * Home Assistant announces itself with `online` on `<prefix>/status`. Commands from Home Assistant go
 * to the hub's guarded command topics, never straight to the device, so the safety envelope holds.
 */
export class HaDiscovery {
  private readonly prefix: string;
  private readonly commandRoot: string;
  private started = false;
  private publishedCount = 0;

  constructor(private readonly deps: HaDiscoveryDeps) {
    this.prefix = deps.prefix ?? 'homeassistant';
    this.commandRoot = deps.commandRoot ?? DEFAULT_COMMAND_ROOT;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.deps.source.onMessage(this, (m) => this.onMessage(m));
    await this.publishAll();
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.deps.source.offOwner(this);
  }

  /** Discovery messages published so far (each announcement counts every config). */
  get published(): number {
    return this.publishedCount;
  }

  /** Every config, for every device. */
  configs(): DiscoveryConfig[] {
    return this.deps.devices.flatMap((d) => [
      ...d.sensors.map((s) => this.sensorConfig(d, s)),
      ...d.actuators.map((a) => this.actuatorConfig(d, a)),
    ]);
  }

  async publishAll(): Promise<void> {
    const configs = this.configs();
    try {
      await Promise.all(
        configs.map((c) =>
          this.deps.publisher.publish({
            topic: c.topic,
            payload: JSON.stringify(c.config),
            qos: 1,
            retain: true,
          }),
        ),
      );
      this.publishedCount += configs.length;
      this.deps.logger.info('Home Assistant discovery published', { configs: configs.length });
    } catch (err) {
      this.deps.logger.warn('Home Assistant discovery not published', { error: errorMessage(err) });
    }
  }

  private onMessage(message: MqttMessage): void {
    if (message.topic !== `${this.prefix}/status`) return;
    if (utf8(message.payload)?.trim().toLowerCase() !== 'online') return;
    // Home Assistant restarted and dropped what it knew: it needs every config again.
    void this.publishAll();
  }

  private sensorConfig(d: DeviceDefinition, s: SensorDefinition): DiscoveryConfig {
    const cls = SENSOR_CLASSES[s.kind];
    const { stateTopic, valueExpr } = sensorSource(d, s);
    const config: Record<string, unknown> = {
      ...this.common(d, s.metric),
      name: s.metric,
      state_topic: stateTopic,
      value_template: cls.component === 'binary_sensor' ? BINARY_TEMPLATE(valueExpr) : `{{ ${valueExpr} }}`,
    };
    if (cls.component === 'binary_sensor') {
      config.payload_on = 'ON';
      config.payload_off = 'OFF';
    } else {
      config.state_class = 'measurement';
    }
    if (cls.deviceClass !== undefined) config.device_class = cls.deviceClass;
    if (s.unit !== undefined) config.unit_of_measurement = haUnit(s.unit);
    return { topic: this.topic(cls.component, d, s.metric), config };
  }

  private actuatorConfig(d: DeviceDefinition, a: ActuatorDefinition): DiscoveryConfig {
    const component = isDimmable(a) ? 'light' : 'switch';
    const { stateTopic, onExpr, brightnessExpr } = actuatorSource(d, a);
    const commandTopic = `${this.commandRoot}/${d.id}/${a.name}`;
    const config: Record<string, unknown> = {
      ...this.common(d, a.name),
      name: a.name,
      command_topic: commandTopic,
      state_topic: stateTopic,
      payload_on: 'ON',
      payload_off: 'OFF',
    };
    if (component === 'switch') {
      config.state_on = 'ON';
      config.state_off = 'OFF';
      config.value_template = BINARY_TEMPLATE(onExpr);
      if (a.kind === 'relay') config.device_class = 'switch';
      if (a.kind === 'buzzer') config.icon = 'mdi:bullhorn';
    } else {
      config.state_value_template = BINARY_TEMPLATE(onExpr);
      if (a.kind === 'dimmer' || brightnessExpr !== undefined) {
        config.brightness_command_topic = `${commandTopic}/brightness`;
        config.brightness_scale = 100;
        config.brightness_state_topic = stateTopic;
        config.brightness_value_template = `{{ ${brightnessExpr ?? 'value_json.brightness'} }}`;
        // HA sends the brightness alone when dimming; edgehub's brightness command switches on itself.
        config.on_command_type = 'brightness';
      }
    }
    return { topic: this.topic(component, d, a.name), config };
  }

  private common(d: DeviceDefinition, object: string): Record<string, unknown> {
    const availability = availabilitySource(d);
    return {
      unique_id: `edgehub_${nodeId(d.id)}_${nodeId(object)}`,
      object_id: `${nodeId(d.id)}_${nodeId(object)}`,
      availability_topic: availability.topic,
      payload_available: availability.online,
      payload_not_available: availability.offline,
      ...(availability.template !== undefined && { availability_template: availability.template }),
      device: {
        identifiers: [`edgehub_${nodeId(d.id)}`],
        name: d.name ?? d.id,
        manufacturer: d.manufacturer ?? 'edgehub',
        ...(d.model !== undefined && { model: d.model }),
        ...(this.deps.hubName !== undefined && { via_device: `edgehub_hub_${nodeId(this.deps.hubName)}` }),
      },
    };
  }

  private topic(component: string, d: DeviceDefinition, object: string): string {
    return `${this.prefix}/${component}/${nodeId(d.id)}/${nodeId(object)}/config`;
  }
}

/** HA's node and object ids allow `[a-zA-Z0-9_-]`; device ids may also hold `.`. */
function nodeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** HA's units: `°C` rather than `C`, as sensors of the simulated firmware report them. */
function haUnit(unit: string): string {
  if (unit === 'C') return '°C';
  if (unit === 'F') return '°F';
  return unit;
}

/** Jinja access to a dotted key of `value_json`, safe for keys HA's Jinja would misread. */
function jsonPath(path: string): string {
  return `value_json${path
    .split('.')
    .map((p) => `[${JSON.stringify(p)}]`)
    .join('')}`;
}

function sensorSource(d: DeviceDefinition, s: SensorDefinition): { stateTopic: string; valueExpr: string } {
  switch (d.convention) {
    case 'tasmota':
      return { stateTopic: `tele/${tasmotaTopic(d)}/SENSOR`, valueExpr: jsonPath(s.key ?? s.metric) };
    case 'zigbee2mqtt':
      return { stateTopic: z2mTopic(d), valueExpr: jsonPath(s.key ?? s.metric) };
    case 'edgehub':
      // Readings are `{"value": v, …}` or a bare value.
      return {
        stateTopic: TOPICS.reading(d.id, s.metric),
        valueExpr: 'value_json.value if value_json is mapping else value_json',
      };
  }
}

function actuatorSource(
  d: DeviceDefinition,
  a: ActuatorDefinition,
): { stateTopic: string; onExpr: string; brightnessExpr?: string } {
  switch (d.convention) {
    case 'tasmota':
      return isDimmable(a)
        ? {
            stateTopic: `stat/${tasmotaTopic(d)}/RESULT`,
            onExpr: jsonPath(tasmotaKey(a)),
            brightnessExpr: 'value_json.Dimmer',
          }
        : { stateTopic: `stat/${tasmotaTopic(d)}/${tasmotaKey(a)}`, onExpr: 'value' };
    case 'zigbee2mqtt': {
      const key = z2mKey(a);
      const bKey = key === 'state' ? 'brightness' : key.replace(/^state/, 'brightness');
      return {
        stateTopic: z2mTopic(d),
        onExpr: jsonPath(key),
        ...(isDimmable(a) && { brightnessExpr: `(${jsonPath(bKey)} / 2.54) | round(0)` }),
      };
    }
    case 'edgehub':
      return { stateTopic: TOPICS.state(d.id, a.name), onExpr: 'value_json.on' };
  }
}

function availabilitySource(d: DeviceDefinition): {
  topic: string;
  online: string;
  offline: string;
  template?: string;
} {
  switch (d.convention) {
    case 'tasmota':
      return { topic: `tele/${tasmotaTopic(d)}/LWT`, online: 'Online', offline: 'Offline' };
    case 'zigbee2mqtt':
      return {
        topic: `${z2mTopic(d)}/availability`,
        online: 'online',
        offline: 'offline',
        // zigbee2mqtt 2.x sends {"state": "online"}, 1.x the bare word.
        template: '{{ value_json.state if value_json is defined and value_json is mapping else value }}',
      };
    case 'edgehub':
      return { topic: TOPICS.availability(d.id), online: 'online', offline: 'offline' };
  }
}
