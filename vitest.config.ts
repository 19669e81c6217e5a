import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration tests make namespaces and repositories of their own; two cores on CI
    fileParallelism: true,
    maxWorkers: 2,
  },
});
