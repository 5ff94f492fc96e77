import { resolve } from 'node:path';
import type { DeviceDefinition } from '../devices/index.js';
import type { RuleLoadOptions } from '../rules/index.js';
import type { HubConfig } from './config/schema.js';
import { withDemoDevices } from './demo-devices.js';
import { loadDeviceDefinitions } from './registry/device-files.js';

/** The definitions a hub with `config` runs with: the config's, `hub.devices_dir`'s, the demo's. */
export function declaredDevices(config: HubConfig): DeviceDefinition[] {
  const configured = config.demo ? withDemoDevices(config.devices) : config.devices;
  const dir = config.hub.devices_dir;
  return loadDeviceDefinitions(configured, dir === undefined ? undefined : resolve(dir));
}

/**
 * What rules are checked against, by the hub and by `edgehub check --config` alike: the declared
 * devices (a misspelt id is an error, not a rule that never fires), whether the hub has a
 * location (a `sun:` schedule needs one), which connectors a `forward:` and which notifiers a
 * `notify:` may name.
 */
export function ruleLoadOptions(config: HubConfig, devices: readonly DeviceDefinition[]): RuleLoadOptions {
  return {
    devices: devices.map((d) => d.id),
    hasLocation: config.hub.latitude !== undefined && config.hub.longitude !== undefined,
    // A `forward:` to a connector the config does not have is an error at its line.
    connectors: config.connectors.filter((c) => c.enabled).map((c) => c.id),
    // Likewise a `notify:` through a notifier the config does not have.
    notifiers: Object.keys(config.notifiers),
  };
}
