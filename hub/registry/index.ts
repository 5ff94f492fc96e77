export {
  DeviceRegistry,
  type DeviceReading,
  type DeviceRecord,
  type DeviceRegistryDeps,
  type DeviceStatus,
  type DeviceStatusChange,
} from './registry.js';
