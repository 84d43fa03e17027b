import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: integration suites start servers and databases; run files two at a time at most.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
