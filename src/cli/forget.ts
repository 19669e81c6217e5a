// lsm forget (LSM's -d): forget the baseline; the history stays. --purge --yes removes the
// repository itself.
import type { CommandModule } from 'yargs';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, LsmError } from '../errors.js';
import { moveBaseline, readBaseline } from '../store/baseline.js';
import { lockRepository } from '../store/lock.js';
import { requireRepo } from '../store/repo.js';
import { context, type GlobalArgs } from './context.js';
import { out, shortId } from './output.js';

interface Args extends GlobalArgs { purge?: boolean; yes?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'forget',
  describe: 'forget the baseline, keeping the history (LSM: lsm -d); --purge --yes deletes the repository',
  builder: (y) => y
    .option('purge', { type: 'boolean', describe: 'delete the whole snapshot repository and its history' })
    .option('yes', { type: 'boolean', describe: 'confirm --purge' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const repo = requireRepo(ctx.repoDir);
    if (argv.purge) {
      if (!argv.yes) throw new LsmError(`--purge deletes ${ctx.repoDir} and all its history: add --yes to confirm`, EXIT.USAGE);
      if (!existsSync(join(ctx.repoDir, 'host'))) throw new LsmError(`${ctx.repoDir} does not look like an lsm repository (no host/): not deleting it`, EXIT.USAGE);
      const lock = await lockRepository(repo.gitdir);
      rmSync(ctx.repoDir, { recursive: true, force: true });
      void lock; // the lock file went with the repository
      out(`deleted ${ctx.repoDir}`);
      return;
    }
    const lock = await lockRepository(repo.gitdir);
    try {
      const was = await readBaseline(repo);
      if (!was) { out('no baseline to forget'); return; }
      await moveBaseline(repo, null, 'baseline forgotten with lsm -d');
      out(`baseline ${shortId(was)} forgotten; history kept (the next lsm -c approves a new one)`);
    } finally {
      lock.release();
    }
  },
};
export default command;
