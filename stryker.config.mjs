// Mutation testing (npm run mutate): not part of CI, it takes long. test/MUTATION.md has the scores.
// Narrow a run with `npm run mutate -- --mutate 'src/snapshot/**/*.ts'`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/snapshot/**/*.ts',
    'src/store/**/*.ts',
    'src/alert/**/*.ts',
    'src/config.ts',
    'src/errors.ts',
    'src/cli/exit.ts', // main.ts's error-to-exit mapping (main.ts itself runs on import: not testable in-process)
    'src/cli/check.ts',
    'src/run/**/*.ts', // the application layer (test/mutation/run-layer.test.ts)
    'src/collect/**/*.ts', // the /proc and netlink parsers, the fd walk (test/mutation/collect-*.test.ts)
    'src/fleet/**/*.ts', // the fleet server and host push (test/mutation/fleet-*.test.ts)
  ],
  ignorePatterns: ['dist', 'bench', 'reports', '.stryker-tmp'],
  // re-test only mutants whose code or covering tests changed since the recorded run. The cache is a
  // local file under reports/ (ignored by git: megabytes of JSON that only this machine's next run
  // reads; the results that matter are the tables in test/MUTATION.md). A narrowed run (--mutate)
  // should name its own file: --incrementalFile reports/mutation/incremental-<scope>.json, or it
  // would drop the other files' results.
  incremental: true,
  incrementalFile: 'reports/mutation/incremental.json',
  // a mutant in module-level code (config.ts's KEYS table, regexes) runs at import, so perTest
  // coverage cannot tell which tests reach it and Stryker would run the whole set (~35 s) for each:
  // an hour for config.ts alone. Those are reported as Ignored (counted in test/MUTATION.md).
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 5_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // in place: the /proc fixtures hold dangling symlinks (fd -> socket:[N]) that a sandbox copy cannot copy
  inPlace: true,
  // in place, Stryker writes '// @ts-nocheck' into the files it covers and puts them back at the end
  // (a killed run: git checkout src/): only the source, so tests may be edited during a run
  disableTypeChecks: 'src/**/*.ts',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
