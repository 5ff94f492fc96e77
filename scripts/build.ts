/**
 * `npm run build`: bundles the CLI and the store's writer thread into `dist/` with esbuild.
 *
 * Why a bundle and not tsc's one file per module: V8 keeps the source text of every module it loads
 * for as long as the process lives, plus a record per module. Unbundled, the hub loaded about 600
 * scripts with 2.4 MB of its own and its dependencies' sources (zod's 64 locale files among them);
 * minified and tree-shaken, the whole of `dist/` is about 1 MB. At 2,000 events/s that is about
 * 9 MiB less RSS, on a Raspberry Pi where every MiB counts. Tree-shaking needs namespace imports of
 * zod (`import * as z from 'zod'`, enforced by the lint config): its `z` export is an object holding
 * everything, locales included.
 *
 * Type checking is `npm run typecheck`; esbuild only strips types.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';

/**
 * Packages loaded from node_modules at run time rather than bundled: native addons and what loads
 * them, optional native speed-ups `ws` probes for, and `debug`, which kernel/quiet-debug.ts replaces
 * in the module cache (a bundled copy would not see the replacement). The connectors' client
 * libraries too: each loads only when a connector of its type is configured, and the AWS SDK's
 * modules lose their exports when esbuild bundles them (`SQSClient is not a constructor`).
 */
const EXTERNAL = [
  '@aws-sdk/*',
  '@smithy/*',
  'kafkajs',
  'nodemailer',
  'amqplib',
  'redis',
  '@redis/*',
  'better-sqlite3',
  'serialport',
  '@serialport/*',
  'johnny-five',
  'firmata-io',
  'bufferutil',
  'utf-8-validate',
  'debug',
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The hub's worker threads, entries of every bundle that runs a hub: the store's writer and the
 * connectors' prepare thread.
 */
export const WORKER_ENTRIES: Record<string, string> = {
  'writer-worker': 'hub/store/writer-worker.ts',
  'prepare-worker': 'hub/connectors/prepare-worker.ts',
};

/**
 * Bundles `entries` (name → source file, relative to the project root) into `outdir` (likewise).
 * Entry points and the chunks shared or loaded lazily (`ws`, the simulated fleet) all land in
 * `outdir` itself, so a worker's `new URL('./writer-worker.js', import.meta.url)` finds its
 * file from any of them.
 */
export function bundle(
  entries: Record<string, string>,
  outdir: string,
  { readableNames = false }: { readableNames?: boolean } = {},
): void {
  const options: BuildOptions = {
    absWorkingDir: ROOT,
    entryPoints: entries,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    minifyWhitespace: true,
    minifySyntax: true,
    // Kept only where a CPU profile must name functions (the bench's EDGEHUB_BENCH_PROFILE).
    minifyIdentifiers: !readableNames,
    // Stack traces from the bundle map back to the TypeScript with `node --enable-source-maps`.
    sourcemap: true,
    // Licence texts go to one file beside the bundle instead of into the source V8 keeps.
    legalComments: 'linked',
    chunkNames: 'chunk-[hash]',
    external: EXTERNAL,
    // Bundled CommonJS dependencies call require() for Node's own modules and the externals.
    // The import is renamed so that it cannot clash with a module's own import of createRequire.
    banner: {
      js: "import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  };
  buildSync(options);
}

/** `dist/` afresh: what `bin/edgehub.js` runs. */
export function buildProduct(): void {
  rmSync(`${ROOT}dist`, { recursive: true, force: true });
  bundle({ cli: 'hub/cli.ts', ...WORKER_ENTRIES }, 'dist');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) buildProduct();
