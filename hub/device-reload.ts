import type { DeviceRuntime } from '../devices/index.js';
import {
  DirWatch,
  EdgehubErrors,
  errorMessage,
  type Clock,
  type Logger,
  type TypedBus,
} from '../kernel/index.js';
import type { RuleDirWatcher } from '../rules/index.js';
import type { HubEvents } from './events.js';
import type { HubStatus } from './hub-status.js';
import { isDeviceFileName, type DeviceRegistry } from './registry/index.js';

export interface DeviceReloadDeps {
  registry: DeviceRegistry;
  devices: DeviceRuntime;
  bus: TypedBus<HubEvents>;
  clock: Clock;
  logger: Logger;
  hubStatus: () => HubStatus | undefined;
  /** The rules in force, checked again against the new devices. */
  rules: () => RuleDirWatcher | undefined;
  /** True once the hub is stopping: a reload then does nothing. */
  stopping: () => boolean;
}

/**
 * Reads the devices directory again, on a change in it or when asked, one reload at a time. When
 * every file is valid, the new set is in force: adapters of changed kinds restart, removed devices
 * lose their discovery configs and availability, and the rules are checked again against the new
 * devices. When a file is invalid, each problem is logged at file:line:col and the running set stays.
 */
export class DeviceReload {
  /** The reload in progress; reloads never overlap. */
  private running: Promise<boolean> = Promise.resolve(true);
  private watcher: DirWatch | undefined;

  constructor(private readonly deps: DeviceReloadDeps) {}

  /** Resolves to whether the new set was taken. */
  reload(): Promise<boolean> {
    this.running = this.running.then(() => this.reloadNow());
    return this.running;
  }

  /** Reloads on every change of a device file in `dir`, debounced. */
  watch(dir: string): void {
    this.watcher = new DirWatch({
      dir,
      clock: this.deps.clock,
      logger: this.deps.logger,
      what: 'device definitions',
      accepts: isDeviceFileName,
      onChange: () => void this.reload(),
      timerName: 'devices.reload-debounce',
    });
    this.watcher.start();
  }

  /** Stops watching and waits for a reload in progress. */
  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.running;
  }

  private async reloadNow(): Promise<boolean> {
    const { registry, devices, bus, clock, logger } = this.deps;
    if (this.deps.stopping()) return false;
    let changes;
    try {
      changes = registry.reload();
    } catch (err) {
      const errors = err instanceof EdgehubErrors ? err.errors : [err];
      const lines = errors.map(errorMessage);
      logger.error('devices not reloaded; the running definitions stay in force', { errors: lines });
      bus.emit('devices.rejected', { errors: lines, at: clock.now() });
      return false;
    }
    const { added, removed, changed } = changes;
    if (added.length + removed.length + changed.length === 0) return true;
    const definitions = registry.definitions;
    try {
      await devices.update(definitions);
      await this.deps.hubStatus()?.devicesChanged(added, removed);
    } catch (err) {
      // The definitions are in force; devices of an adapter that failed to start are refused commands.
      logger.error('applying the reloaded devices failed', { error: errorMessage(err) });
    }
    logger.info('devices reloaded', { devices: definitions.length, added, removed, changed });
    bus.emit('devices.loaded', {
      count: definitions.length,
      added,
      removed,
      changed,
      at: clock.now(),
    });
    // Rules naming a removed device, or fitting a new one, are checked again as the hub checks them.
    await this.deps.rules()?.reload();
    return true;
  }
}
