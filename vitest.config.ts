import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'kernel/**/*.test.ts',
      'hub/**/*.test.ts',
      'devices/**/*.test.ts',
      'rules/**/*.test.ts',
      'firmware-sim/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
