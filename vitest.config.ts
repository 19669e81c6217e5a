import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // dist/ rebuilt from src/ before any test when the source changed (integration tests run dist/)
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration tests make namespaces and repositories of their own. Two cores on CI, but the
    // suite mostly waits (children, SMTP, git: ~0.9 cores busy with 2 workers, 14.9 min): 3 workers
    fileParallelism: true,
    maxWorkers: 3,
  },
});
