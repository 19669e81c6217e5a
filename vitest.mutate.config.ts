import { defineConfig } from 'vitest/config';

// The test set Stryker runs (npm run mutate): tests that import src/ in-process. Integration tests
// that run bin/lsm execute the compiled dist/, which Stryker's mutants never reach, so they would
// only cost time here; they still run in CI (vitest.config.ts).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/mutation/**/*.test.ts'],
    // it checks that dist/ was built from src/: under Stryker src/ holds mutants, never built
    exclude: ['test/unit/build.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
