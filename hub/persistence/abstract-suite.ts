/**
 * aedes-persistence's abstract test suite (the contract every aedes persistence must pass), run
 * against SqlitePersistence on a fresh SQLite file per test. The suite is written for node:test, so
 * this file runs under `node --import tsx --test`; `sqlite-persistence.test.ts` runs it from vitest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemoryLogger, SystemClock } from '../../kernel/index.js';
import { brokerDbPath } from './schema.js';
import { SqlitePersistence } from './sqlite-persistence.js';

type AbstractSuite = (opts: {
  test: typeof test;
  persistence: () => SqlitePersistence;
  testAsync: boolean;
}) => void;

// The suite is CommonJS and untyped; it ships in aedes-persistence, the dependency of aedes.
const require = createRequire(import.meta.resolve('aedes'));
const abstractPersistence = require(require.resolve('aedes-persistence/abstract.js')) as AbstractSuite;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

abstractPersistence({
  test,
  persistence: () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgehub-persistence-'));
    dirs.push(dir);
    return new SqlitePersistence({
      file: brokerDbPath(dir),
      clock: new SystemClock(),
      logger: new MemoryLogger(),
    });
  },
  // setup(broker) is awaited by the suite, as aedes 2 does, instead of the callback-era `ready` event.
  testAsync: true,
});
