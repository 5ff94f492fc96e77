import { join } from 'node:path';
import { Hub, loadConfig } from '../../hub/index.js';
import { MemoryLogger, type Clock, type MqttMessage } from '../../kernel/index.js';
import type { TempDirs } from './temp.js';
import { writeFiles } from './temp.js';

/**
 * A hub on loopback port 0 with the given YAML config text (devices, Home Assistant settings).
 * `dir` reuses the folder (and data) of an earlier one, as a restart with a changed config does.
 */
export async function startDeviceHub(
  temp: TempDirs,
  configYaml: string,
  options: { store?: boolean; clock?: Clock; dir?: string } = {},
): Promise<{ hub: Hub; url: string; logger: MemoryLogger; dataDir: string; dir: string }> {
  const dir = options.dir ?? temp.make('edgehub-devices-');
  const dataDir = join(dir, 'data');
  writeFiles(dir, { 'edgehub.yaml': configYaml });
  const config = loadConfig(join(dir, 'edgehub.yaml'), { mqttPort: 0, wsPort: null, dataDir, demo: false });
  const logger = new MemoryLogger();
  const store = options.store ?? false;
  const hub = new Hub({
    config: { ...config, store: { ...config.store, enabled: store } },
    logger,
    ...(options.clock !== undefined && { clock: options.clock }),
  });
  await hub.start();
  const address = hub.broker.mqttAddress;
  if (!address) throw new Error('hub has no MQTT listener');
  return { hub, url: `mqtt://127.0.0.1:${address.port}`, logger, dataDir, dir };
}

/** Resolves with the first message the hub's broker handles that satisfies `match`. */
export function hubMessage(hub: Hub, match: (m: MqttMessage) => boolean): Promise<MqttMessage> {
  return new Promise((resolve) => {
    const owner = {};
    hub.broker.onMessage(owner, (m) => {
      if (!match(m)) return;
      hub.broker.offOwner(owner);
      resolve(m);
    });
  });
}

/** Resolves once the hub's broker has handed `count` messages on `topic` to its consumers. */
export async function hubSaw(hub: Hub, topic: string, count = 1): Promise<void> {
  let seen = 0;
  await hubMessage(hub, (m) => m.topic === topic && ++seen >= count);
}
