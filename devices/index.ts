export type {
  ActuatorCommand,
  ActuatorState,
  AdapterDeps,
  AdapterFactory,
  AdapterKind,
  AdapterSink,
  DeviceAdapter,
  DeviceCommandSet,
} from './adapter.js';
export { ADAPTER_FACTORIES } from './adapter-factories.js';
export { BrokerSink } from './broker-sink.js';
export {
  ACTUATOR_KINDS,
  ADAPTER_KINDS,
  CONVENTIONS,
  deviceDefinitionSchema,
  deviceFileJsonSchema,
  deviceFileSchema,
  deviceListIssues,
  deviceListSchema,
  type DeviceListIssue,
  parseRate,
  resolveRef,
  SENSOR_KINDS,
  type ActuatorDefinition,
  type ActuatorKind,
  type Convention,
  type DeviceDefinition,
  type SafetyDefinition,
  type SensorDefinition,
  type SensorKind,
} from './definition.js';
export { parseActuatorValue } from './commands.js';
export {
  DEFAULT_COMMAND_ROOT,
  DeviceActuators,
  type ActuatorStats,
  type DeviceActuatorsDeps,
} from './device-actuators.js';
export {
  HaDiscovery,
  type DiscoveryConfig,
  type DiscoveryMode,
  type HaDiscoveryDeps,
} from './ha-discovery.js';
export { MqttAdapter } from './mqtt-adapter.js';
export { ConventionMapper, encodeCommand, type DeviceSignal } from './mqtt-conventions.js';
export {
  SafetyEnvelope,
  type RefusalKind,
  type SafetyEnvelopeDeps,
  type SafetyVerdict,
} from './safety-envelope.js';
export { DeviceRuntime, type DeviceRuntimeDeps } from './device-runtime.js';
export { classifyOpenFailure, portOpenError, type PortOpenFailure } from './serial/port-errors.js';
export { DEFAULT_RECONNECT, ReconnectingPort } from './serial/reconnecting-port.js';
export { SerialAdapter, type SerialAdapterOptions } from './serial/serial-adapter.js';
export type { SerialLineStats } from './serial/serial-line-device.js';
export { serialSettingsSchema, type SerialSettings } from './serial/serial-settings.js';
export {
  openSerialPort,
  type PortFactory,
  type PortHandle,
  type PortOpenOptions,
} from './serial/transport.js';
export { FirmataAdapter, type FirmataAdapterOptions } from './firmata/firmata-adapter.js';
export {
  firmataPinSchema,
  firmataSettingsSchema,
  type FirmataPin,
  type FirmataSettings,
} from './firmata/firmata-settings.js';
export { celsiusFromRaw, ReadingGate, scaleRaw } from './firmata/readings.js';
