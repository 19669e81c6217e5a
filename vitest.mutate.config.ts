import { defineConfig } from 'vitest/config';

// The test set Stryker runs (npm run mutate): tests that import src/ in-process. Integration tests
// that run bin/lsm execute the compiled dist/, which Stryker's mutants never reach, so they would
// only cost time here; they still run in CI (vitest.config.ts).
export default defineConfig({
  test: {
    // LSM_MUTATE_TESTS=file,file narrows the set for one scope's run: every survivor re-runs every
    // test that reaches its code, and escape.ts is reached by nearly all of them (~30 s a survivor);
    // a narrowed run's score is a lower bound (fewer tests kill fewer mutants)
    include: process.env.LSM_MUTATE_TESTS ? process.env.LSM_MUTATE_TESTS.split(',') : ['test/unit/**/*.test.ts', 'test/mutation/**/*.test.ts'],
    // it checks that dist/ was built from src/: under Stryker src/ holds mutants, never built
    exclude: ['test/unit/build.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
