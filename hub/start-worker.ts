import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` that sits next to the module at `besideUrl` (its
 * `import.meta.url`): `.js` in the bundled `dist/` (an entry point of its own, beside whichever chunk
 * holds the caller), `.ts` under tsx and vitest. A `.ts` worker needs tsx's loader, which Node 20
 * does not pass on to workers even when the process was started with `--import tsx`, so a small
 * bootstrap registers it first; `onBootFailure` is JavaScript run there with `err` when the module
 * cannot load (before the rethrow that ends the thread).
 */
export function startWorker(
  besideUrl: string,
  name: string,
  options: WorkerOptions,
  onBootFailure = '',
): Worker {
  const ext = extname(fileURLToPath(besideUrl));
  const url = new URL(`./${name}${ext}`, besideUrl);
  if (ext !== '.ts') return new Worker(url, options);
  // The ESM build: the CommonJS one registers hooks by a path that does not exist from a worker.
  const tsx = createRequire(besideUrl)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const bootstrap = [
    `const { workerData } = require('node:worker_threads');`,
    `import(${JSON.stringify(pathToFileURL(tsx).href)})`,
    `  .then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`,
    `  .catch((err) => {`,
    onBootFailure,
    `    throw err;`,
    `  });`,
  ].join('\n');
  return new Worker(bootstrap, { ...options, eval: true });
}
