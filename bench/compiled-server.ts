import { bundle, WORKER_ENTRIES } from '../scripts/build.js';

/**
 * A server script of bench/servers/, runnable by plain node the way `edgehub start` runs: bundled
 * like the product (scripts/build.ts) into `dist/bench/`, with the hub's worker threads beside it.
 * Under tsx the loader and the hub's unbundled sources would cost the process tens of MB that a
 * deployed hub does not pay.
 */
export function compiledServer(name: string): URL {
  bundle({ [name]: `bench/servers/${name}.ts`, ...WORKER_ENTRIES }, 'dist/bench', {
    readableNames: process.env.EDGEHUB_BENCH_PROFILE !== undefined,
  });
  return new URL(`../dist/bench/${name}.js`, import.meta.url);
}
