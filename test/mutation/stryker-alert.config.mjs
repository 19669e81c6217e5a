// src/alert measured with its own tests only (see vitest-alert.config.ts for why):
// npx stryker run test/mutation/stryker-alert.config.mjs [--mutate src/alert/spool.ts]
import base from '../../stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['src/alert/**/*.ts'],
  vitest: { configFile: 'test/mutation/vitest-alert.config.ts' },
  incrementalFile: 'test/mutation/incremental-alert.json',
  concurrency: 1,
};
