// lsm accept [REV]: approve a recorded snapshot (default HEAD) as the baseline, without scanning:
// what was reviewed (lsm drift, lsm show) is what gets approved, not whatever is listening now.
import type { CommandModule } from 'yargs';
import { approve, type ApproveArgs } from './baseline.js';
import type { GlobalArgs } from './context.js';

const command: CommandModule<GlobalArgs, ApproveArgs> = {
  command: 'accept [rev]',
  describe: 'approve a recorded snapshot (default: the latest, HEAD) as the baseline, without scanning',
  builder: (y) => y
    .positional('rev', { type: 'string', describe: 'the snapshot to approve (HEAD, a commit id, HEAD~N); default HEAD' })
    .option('message', { alias: 'm', type: 'string', describe: 'why this state is approved (kept in the baseline reflog)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print nothing' }),
  handler: (argv) => approve(argv, false, 'baseline approved with lsm accept'),
};
export default command;
