export { DeviceRegistry, type DeviceRecord, type DeviceRegistryDeps, type DeviceStatus } from './registry.js';
