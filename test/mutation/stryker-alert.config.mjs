// src/alert measured with its own tests only: the whole in-process set costs ~4 s a mutant at this
// machine's load, over an hour for src/alert's 1,292 mutants. A score measured with these files is a
// lower bound of the whole set's (a mutant killed only by another file counts as survived here).
// npx stryker run test/mutation/stryker-alert.config.mjs [--mutate src/alert/spool.ts]
// LSM_MUTATE_TESTS (vitest.mutate.config.ts) narrows the files further, for one file's run.
import base from '../../stryker.config.mjs';

const ALERT_TESTS = ['delivery', 'spool', 'hooks', 'alert-diff', 'alert-text', 'alerted', 'mail-config'].map((f) => `test/unit/${f}.test.ts`);
// read by vitest.mutate.config.ts in the test runners Stryker starts (they inherit the environment)
process.env.LSM_MUTATE_TESTS ??= [...ALERT_TESTS, 'test/mutation/alert-*.test.ts'].join(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['src/alert/**/*.ts'],
  incrementalFile: 'reports/mutation/incremental-alert.json', // local cache, not tracked (stryker.config.mjs),
  concurrency: 1,
};
