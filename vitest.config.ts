import { defineConfig } from 'vitest/config';

/*
 * Two projects over one set of settings (each `extends: true` inherits the timeouts and pool below):
 * `unit`, the tests next to the code, each about one context (a few still start a broker on a
 * loopback port 0 or a child node), and `integration`, the cross-context tests in test/ that run
 * whole hubs, CLIs and pseudo-terminals. `vitest run` runs both; `--project unit` is the quick loop.
 */
export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // `npm run coverage`: the code of the five contexts, not the tests; children a test spawns
    // (the CLI, the hub in its own process) are not measured.
    coverage: {
      provider: 'v8',
      reportsDirectory: 'coverage',
      reporter: ['text-summary', 'html'],
      include: ['kernel/**/*.ts', 'hub/**/*.ts', 'devices/**/*.ts', 'rules/**/*.ts', 'firmware-sim/**/*.ts'],
      exclude: ['**/*.test.ts', '**/*.contract.ts', '**/*.d.ts', 'hub/persistence/abstract-suite.ts'],
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'kernel/**/*.test.ts',
            'hub/**/*.test.ts',
            'devices/**/*.test.ts',
            'rules/**/*.test.ts',
            'firmware-sim/**/*.test.ts',
            // The dashboard's pure parts (no DOM) and the build's own helpers.
            'dashboard/**/*.test.ts',
            'scripts/**/*.test.ts',
          ],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Installs and caches the connector tests' servers once, before the test files start.
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
