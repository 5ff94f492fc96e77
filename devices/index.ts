export { parseDeviceTopic, readingValue, TOPICS, type DeviceTopic, type TopicKind } from './topics.js';
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
  deviceFileSchema,
  deviceListSchema,
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
