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
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { buildSync, type BuildOptions, type Metafile } from 'esbuild';
import { dashboardIndexHtml } from './dashboard-index.js';

/**
 * Packages loaded from node_modules at run time rather than bundled: native addons and what loads
 * them, optional native speed-ups `ws` probes for, and `debug`, which kernel/quiet-debug.ts replaces
 * in the module cache (a bundled copy would not see the replacement). The connectors' client
 * libraries are bundled, each in a chunk of its own that loads only when a connector of its type
 * connects: bundled, the five of them (kafkajs, node-redis, amqplib, mqtt.js, the AWS SDK's SQS
 * client) weigh about 14 MiB less RSS than loaded module by module from node_modules.
 */
const EXTERNAL = [
  'nodemailer',
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
 * connectors' thread.
 */
export const WORKER_ENTRIES: Record<string, string> = {
  'writer-worker': 'hub/store/writer-worker.ts',
  'connectors-worker': 'hub/connectors/connectors-worker.ts',
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

/** What the dashboard weighs, gzipped, in bytes: what a browser downloads. */
export interface DashboardWeight {
  /** Every JS and CSS file of the dashboard. */
  total: number;
  /** The entry, the chunks it imports statically and its stylesheet: the first page. */
  initial: number;
  /** The rule editor's chunk and what only it imports (CodeMirror), fetched on the editor page. */
  editor: number;
  /** The editor chunk's file, relative to the dashboard's root. */
  editorFile: string;
}

const DASHBOARD_ENTRY = 'dashboard/main.ts';
const EDITOR_ENTRY = 'dashboard/editor/editor-page.ts';

/**
 * The browser bundle: `dashboard/main.ts` → `outdir/` (default `dist/dashboard/`) with code splitting, so
 * uPlot and CodeMirror load only with the pages that use them; hashed names, so the hub can serve
 * `assets/` as immutable; an index.html naming the entry; a `.gz` and a `.br` beside every file, so
 * the hub sends them as they are instead of compressing per request on a Pi.
 */
export function buildDashboard(outdir = 'dist/dashboard'): DashboardWeight {
  // Relative to the project root, or absolute (a test's temporary folder).
  const out = resolve(ROOT, outdir);
  rmSync(out, { recursive: true, force: true });
  const result = buildSync({
    absWorkingDir: ROOT,
    entryPoints: [DASHBOARD_ENTRY],
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
    minify: true,
    entryNames: 'assets/[name]-[hash]',
    chunkNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    legalComments: 'linked',
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const outputs = result.metafile.outputs;
  const fromRoot = (file: string): string => relative(out, resolve(ROOT, file)).split('\\').join('/');
  const [entryFile, entry] =
    Object.entries(outputs).find(
      ([, o]) => o.entryPoint === DASHBOARD_ENTRY && !o.cssBundle?.endsWith('.js'),
    ) ?? [];
  if (!entryFile || !entry) throw new Error(`esbuild wrote no output for ${DASHBOARD_ENTRY}`);
  const initial = staticClosure(outputs, entryFile);
  const styles = entry.cssBundle === undefined ? [] : [entry.cssBundle];
  writeFileSync(
    join(out, 'index.html'),
    dashboardIndexHtml({
      script: fromRoot(entryFile),
      styles: styles.map(fromRoot),
      preload: [...initial].filter((f) => f !== entryFile).map(fromRoot),
    }),
  );
  const gzipped = compressAll(out);
  const weigh = (files: Iterable<string>): number => {
    let sum = 0;
    for (const f of files) sum += gzipped.get(fromRoot(f)) ?? 0;
    return sum;
  };
  const editorFile = Object.entries(outputs).find(([, o]) => o.entryPoint === EDITOR_ENTRY)?.[0];
  if (!editorFile) throw new Error(`the rule editor (${EDITOR_ENTRY}) is not a chunk of its own`);
  const editorOnly = [...staticClosure(outputs, editorFile)].filter((f) => !initial.has(f));
  const weight: DashboardWeight = {
    total: [...gzipped].filter(([f]) => /\.(js|css)$/.test(f)).reduce((sum, [, n]) => sum + n, 0),
    initial: weigh([...initial, ...styles]),
    editor: weigh(editorOnly),
    editorFile: fromRoot(editorFile),
  };
  const kb = (n: number): string => `${(n / 1000).toFixed(1)} KB`;
  console.log(
    `dashboard: ${kb(weight.total)} JS+CSS gzipped in all (first page ${kb(weight.initial)}, ` +
      `rule editor ${kb(weight.editor)} loaded on its page) in ${outdir}/`,
  );
  return weight;
}

/** `file` and every output it imports statically, transitively (paths as the metafile gives them). */
function staticClosure(outputs: Metafile['outputs'], file: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const i of outputs[f]?.imports ?? [])
      if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(file);
  return seen;
}

/** Writes `x.gz` and `x.br` beside every file under `dir`; returns each file's gzipped size in bytes. */
function compressAll(dir: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const data = readFileSync(path);
    const gz = gzipSync(data, { level: 9 });
    writeFileSync(`${path}.gz`, gz);
    writeFileSync(
      `${path}.br`,
      brotliCompressSync(data, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 11,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      }),
    );
    sizes.set(relative(dir, path).split('\\').join('/'), gz.length);
  }
  return sizes;
}

/** `dist/` afresh: what `bin/edgehub.js` runs, and the dashboard the hub serves. */
export function buildProduct(): void {
  rmSync(`${ROOT}dist`, { recursive: true, force: true });
  bundle({ cli: 'hub/cli.ts', ...WORKER_ENTRIES }, 'dist');
  buildDashboard();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) buildProduct();
