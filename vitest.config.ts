import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // dist/ rebuilt from src/ before any test when the source changed (integration tests run dist/)
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration tests make namespaces and repositories of their own; two cores on CI
    fileParallelism: true,
    maxWorkers: 2,
  },
});
