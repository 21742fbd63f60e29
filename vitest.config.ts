import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file runs in its own process: a tfjs engine per file, no cross-file tensor counts.
    pool: 'forks',
    // two files at once on two cores (vitest's default is one): most CLI and server tests wait on
    // child processes, browsers and sockets (timings in the README)
    maxWorkers: 2,
  },
});
