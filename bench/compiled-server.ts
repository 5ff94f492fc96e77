import { bundle, WRITER_WORKER_ENTRY } from '../scripts/build.js';

/**
 * A server script of bench/servers/, runnable by plain node the way `edgehub start` runs: bundled
 * like the product (scripts/build.ts) into `dist/bench/`, with the store's writer thread beside it.
 * Under tsx the loader and the hub's unbundled sources would cost the process tens of MB that a
 * deployed hub does not pay.
 */
export function compiledServer(name: string): URL {
  bundle({ [name]: `bench/servers/${name}.ts`, 'writer-worker': WRITER_WORKER_ENTRY }, 'dist/bench', {
    readableNames: process.env.EDGEHUB_BENCH_PROFILE !== undefined,
  });
  return new URL(`../dist/bench/${name}.js`, import.meta.url);
}
