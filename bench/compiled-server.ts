import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Modules of bench/servers/ that the server scripts import. */
const SHARED = ['server-process'];

/**
 * A server script of bench/servers/, runnable by plain node the way `edgehub start` runs: the
 * script (and the modules it shares) transpiled next to `dist/hub/`, so its relative imports resolve
 * to the compiled hub that `npm run bench` builds. Under tsx the loader and the hub's in-memory
 * sources would cost the process about 35 MB that a deployed hub does not pay. Without a build it
 * falls back to tsx and says so.
 */
export function compiledServer(name: string): { url: URL; execArgv: string[] } {
  const source = new URL(`./servers/${name}.ts`, import.meta.url);
  const dist = new URL('../dist/', import.meta.url);
  if (!existsSync(new URL('hub/index.js', dist))) {
    process.stderr.write(`${name}: no dist/ build (npm run build); it runs under tsx, RSS includes it\n`);
    return { url: source, execArgv: ['--import', 'tsx'] };
  }
  const outDir = new URL('bench/servers/', dist);
  mkdirSync(outDir, { recursive: true });
  for (const module of [name, ...SHARED]) {
    const text = readFileSync(fileURLToPath(new URL(`./servers/${module}.ts`, import.meta.url)), 'utf8');
    const js = ts.transpileModule(text, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2023,
        verbatimModuleSyntax: true,
      },
    }).outputText;
    writeFileSync(new URL(`${module}.js`, outDir), js);
  }
  return { url: new URL(`${name}.js`, outDir), execArgv: [] };
}
