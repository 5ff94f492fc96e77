/** edgehub as the pipeline benchmark runs it: store on, the benchmark's rule, no demo fleet. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectorListSchema } from '../../hub/connectors/index.js';
import { Hub, loadConfig } from '../../hub/index.js';
import { ConsoleLogger } from '../../kernel/index.js';
import { serveParent } from './server-process.js';

// Bundled into dist/bench/ (see bench/compiled-server.ts) or run from source under tsx.
const rules = import.meta.url.includes('/dist/bench/') ? '../../bench/rules' : '../rules';
// EDGEHUB_BENCH_DATA: a data folder made beforehand (kept). The HTTP API and dashboard listen on a
// free loopback port, as a default hub's do; EDGEHUB_BENCH_HTTP=0 turns them off.
const givenData = process.env.EDGEHUB_BENCH_DATA;
const dataDir = givenData ?? mkdtempSync(join(tmpdir(), 'edgehub-bench-'));
const loaded = loadConfig(undefined, {
  mqttPort: 0,
  wsPort: null,
  httpPort: process.env.EDGEHUB_BENCH_HTTP === '0' ? null : 0,
  dataDir,
  demo: false,
  rulesDir: fileURLToPath(new URL(rules, import.meta.url)),
});
// The defaults, loop breaker included (the rule fires on every reading, which is no loop), but no
// per-client publish rate: bare aedes has none, and the gateway shape is one client doing 30,000/s,
// which a deployment with such a gateway raises `mqtt.limits.publish_rate` for.
// EDGEHUB_BENCH_CONNECTORS: a JSON `connectors:` list (the connectors bench's runs with them).
const connectors = process.env.EDGEHUB_BENCH_CONNECTORS
  ? connectorListSchema.parse(JSON.parse(process.env.EDGEHUB_BENCH_CONNECTORS))
  : [];
const config = {
  ...loaded,
  mqtt: { ...loaded.mqtt, limits: { ...loaded.mqtt.limits, publish_rate: 0 } },
  connectors,
};
const hub = new Hub({ config, logger: new ConsoleLogger({ level: 'warn' }) });
await hub.start();
serveParent(
  hub.broker.mqttAddress?.port ?? 0,
  async () => {
    await hub.stop();
    const stored = hub.store?.stats().stored ?? 0;
    process.stderr.write(`edgehub stored ${stored} events\n`);
    if (!givenData) rmSync(dataDir, { recursive: true, force: true });
  },
  hub.http?.address?.port,
);
