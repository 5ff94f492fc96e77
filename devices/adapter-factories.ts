import type { AdapterFactory, AdapterKind } from './adapter.js';
import { MqttAdapter } from './mqtt-adapter.js';
import { FirmataAdapter } from './firmata/firmata-adapter.js';
import { SerialAdapter } from './serial/serial-adapter.js';

/**
 * The adapter of each kind, as the hub builds them. Each adapter's folder adds its own entry
 * (`serial: (deps) => new SerialAdapter(deps)`); a kind without an entry makes a definition using it
 * fail at start-up with DEVICE_ADAPTER_MISSING.
 */
export const ADAPTER_FACTORIES: Partial<Record<AdapterKind, AdapterFactory>> = {
  mqtt: (deps) => new MqttAdapter(deps),
  serial: (deps) => new SerialAdapter(deps),
  firmata: (deps) => new FirmataAdapter(deps),
};
