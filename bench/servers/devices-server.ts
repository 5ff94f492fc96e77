/**
 * edgehub as the devices benchmark runs it: store on, `count` MQTT devices defined (each a temperature
 * sensor with stale_after, so the registry and Home Assistant discovery carry their real load), no
 * rules. Protocol with the parent: `{ready: port}`; 'usage' → `{rss, cpuUs}`; 'stop' → `{stored}`
 * (readings counted in the store after the final flush), then exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deviceListSchema } from '../../devices/index.js';
import { eventsDbPath, Hub, loadConfig } from '../../hub/index.js';
import { ConsoleLogger } from '../../kernel/index.js';

export type DevicesServerRequest = 'usage' | 'stop';
export type DevicesServerReply = { ready: number } | { rss: number; cpuUs: number } | { stored: number };

const count = Number(process.argv[2] ?? '1000');
const dataDir = mkdtempSync(join(tmpdir(), 'edgehub-devices-bench-'));
const base = loadConfig(undefined, { mqttPort: 0, wsPort: null, dataDir, demo: false });
const devices = deviceListSchema.parse(
  Array.from({ length: count }, (_, i) => ({
    id: `bench-${i + 1}`,
    stale_after: '30s',
    sensors: [{ metric: 'temperature', unit: 'C', kind: 'temperature' }],
  })),
);
const hub = new Hub({ config: { ...base, devices }, logger: new ConsoleLogger({ level: 'warn' }) });
await hub.start();

const send = (m: DevicesServerReply): void => {
  process.send?.(m);
};
process.on('message', (m: DevicesServerRequest) => {
  if (m === 'usage') {
    const cpu = process.cpuUsage();
    send({ rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system });
    return;
  }
  void (async () => {
    await hub.stop();
    const db = new Database(eventsDbPath(dataDir), { readonly: true });
    const row = db.prepare("SELECT count(*) AS n FROM events WHERE topic LIKE 'sensors/%'").get() as {
      n: number;
    };
    db.close();
    rmSync(dataDir, { recursive: true, force: true });
    send({ stored: row.n });
    process.exit(0);
  })();
});
send({ ready: hub.broker.mqttAddress?.port ?? 0 });
