export {
  DeviceRegistry,
  type DefinitionChanges,
  type DeviceRecord,
  type DeviceRegistryDeps,
  type DeviceStatus,
} from './registry.js';
export { isDeviceFileName } from './device-files.js';
