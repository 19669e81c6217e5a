import { defineConfig } from 'vitest/config';

// The tests about src/alert, for a narrowed Stryker run (test/mutation/stryker-alert.config.mjs): the
// whole in-process set (vitest.mutate.config.ts) costs ~4 s a mutant at this machine's load, an hour
// for src/alert's 1,292 mutants; these files alone are the alert tests. A score measured with them is
// a lower bound of the whole set's (a mutant killed only by another file counts as survived here).
export default defineConfig({
  test: {
    // LSM_ALERT_TESTS narrows it further, for one file's run: a comma-separated list of globs
    include: process.env.LSM_ALERT_TESTS?.split(',') ?? [
      'test/unit/{delivery,spool,hooks,alert-diff,alert-text,alerted,mail-config}.test.ts',
      'test/mutation/alert-*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
