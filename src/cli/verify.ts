// lsm verify: is the repository whole (git fsck, the index, the refs lsm keeps, every loose object)
// and does the journal match the git history? One line per problem; exit 65 when the repository is
// damaged, 1 when only the journal differs (lsm reindex repairs it), 0 when all is well.
import type { CommandModule } from 'yargs';
import { EXIT, LsmError } from '../errors.js';
import { RepositoryDamaged } from '../store/damage.js';
import { checkRepository } from '../store/fsck.js';
import { readJournal } from '../store/journal-read.js';
import { requireRepo } from '../store/repo.js';
import { context, type GlobalArgs } from './context.js';
import { out } from './output.js';

const command: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'verify',
  describe: 'check the repository (git fsck, index, refs) and the journal against the git history',
  handler: async (argv) => {
    const repo = requireRepo(context(argv).repoDir);
    const { damage, journal } = await checkRepository(repo);
    const journalLine = journal && `journal does not match history: ${journal} (run lsm reindex)`;
    if (damage.length) {
      for (const d of damage.slice(1)) process.stderr.write(`lsm: ${d}\n`);
      if (journalLine) process.stderr.write(`lsm: ${journalLine}\n`);
      throw new RepositoryDamaged({ repo: repo.dir, what: damage.length > 1 ? `${damage[0]} (and ${damage.length - 1} more above)` : damage[0] });
    }
    if (journalLine) throw new LsmError(journalLine, EXIT.FAILURE);
    out(`journal matches history (${readJournal(repo).length} commits)`);
  },
};
export default command;
