import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The order files start in. With the durations of an earlier run (vitest's cache), vitest starts the
// longest first; on a fresh machine (CI) it has none and starts the largest files first, which put
// small, slow integration files (cli.test: 25 s of lsm starts, 142nd of 166 by size) among the last,
// alone on one worker at the end. Without durations: every integration file (a world, lsm processes)
// before the in-process unit and mutation files, which then fill the workers to the end.
class IntegrationFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = this.ctx.config.root;
    const timed = (f: TestSpecification) => this.ctx.cache.getFileTestResults(`${f.project.name}:${relative(root, f.moduleId)}`) !== undefined;
    if (sorted.every(timed)) return sorted;
    const integration = (f: TestSpecification) => relative(root, f.moduleId).startsWith('test/integration/');
    return [...sorted.filter(integration), ...sorted.filter((f) => !integration(f))];
  }
}

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
    sequence: { sequencer: IntegrationFirst },
  },
});
