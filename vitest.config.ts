import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file runs in its own process: a tfjs engine per file, no cross-file tensor counts.
    pool: 'forks',
  },
});
