/**
 * `npm run bench`: every benchmark in one run, each printing its figures beside the comparison or
 * target it was asked for. `npm run bench -- store rules` runs only the suites whose name matches;
 * the 10-minute soak runs only when asked for by name (`npm run bench -- soak`).
 */
import { connectorsBench } from './connectors.bench.js';
import { dashboardBench } from './dashboard.bench.js';
import { devicesBench } from './devices.bench.js';
import { pipelineBench } from './pipeline.bench.js';
import type { BenchResult } from './result.js';
import { rulesEngineBench } from './rules-engine.bench.js';
import { rulesToolingBench } from './rules-tooling.bench.js';
import { soakBench } from './soak.bench.js';
import { storeBench } from './store.bench.js';

const suites: Record<string, () => Promise<BenchResult[]>> = {
  pipeline: pipelineBench,
  store: storeBench,
  'rules-engine': rulesEngineBench,
  'rules-backtest': rulesToolingBench,
  devices: devicesBench,
  connectors: connectorsBench,
  dashboard: dashboardBench,
  soak: () => soakBench(),
};
/** Suites too long for a default run. */
const onlyByName = new Set(['soak']);

const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const [name, run] of Object.entries(suites)) {
  if (only.length === 0 ? onlyByName.has(name) : !only.some((o) => name.includes(o))) continue;
  process.stderr.write(`running ${name}…\n`);
  const found = await run();
  for (const r of found) print(r);
  results.push(...found);
}

function print(r: BenchResult): void {
  const verdict = r.pass === undefined ? '' : r.pass ? '  PASS' : '  MISS';
  console.log(`\n${r.name}${verdict}`);
  if (r.target) console.log(`  target: ${r.target}`);
  for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(28)} ${v}`);
}

const missed = results.filter((r) => r.pass === false);
console.log(
  `\n${results.length} figures, ${missed.length} below target${missed.length ? ': ' + missed.map((m) => m.name).join('; ') : ''}`,
);
