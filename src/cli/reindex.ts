// lsm reindex: rebuild the journal from history; lsm verify: check it against history.
import type { CommandModule } from 'yargs';
import { rebuildJournal } from '../store/journal.js';
import { lockRepository } from '../store/lock.js';
import { requireRepo } from '../store/repo.js';
import { context, type GlobalArgs } from './context.js';
import { out } from './output.js';

const command: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'reindex',
  describe: 'rebuild the journal (the index behind blame, log and drift) from the git history',
  handler: async (argv) => {
    const repo = requireRepo(context(argv).repoDir);
    const lock = await lockRepository(repo.gitdir);
    try {
      const n = await rebuildJournal(repo);
      out(`journal rebuilt from ${n} commits`);
    } finally {
      lock.release();
    }
  },
};
export default command;
