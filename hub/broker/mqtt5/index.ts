export { MqttConnection, type ConnectionContext, type ViolationReport } from './connection.js';
export { PacketFramer, PacketType, type RawPacket } from './frame.js';
export { withMqtt5Hooks } from './hooks.js';
export {
  Mqtt5Layer,
  publishWireSize,
  type Mqtt5LayerDeps,
  type Mqtt5LayerOptions,
  type Mqtt5Stats,
} from './mqtt5-layer.js';
