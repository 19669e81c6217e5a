// lsm verify: does the journal match the git history? Exit 1 with one line when it does not.
import type { CommandModule } from 'yargs';
import { EXIT, LsmError } from '../errors.js';
import { readJournal } from '../store/journal-read.js';
import { verifyJournal } from '../store/journal.js';
import { requireRepo } from '../store/repo.js';
import { context, type GlobalArgs } from './context.js';
import { out } from './output.js';

const command: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'verify',
  describe: 'check the journal against the git history (lsm reindex repairs it)',
  handler: async (argv) => {
    const repo = requireRepo(context(argv).repoDir);
    const problem = await verifyJournal(repo);
    if (problem) throw new LsmError(`journal does not match history: ${problem} (run lsm reindex)`, EXIT.FAILURE);
    out(`journal matches history (${readJournal(repo).length} commits)`);
  },
};
export default command;
