// lsm baseline (LSM's -g): take a snapshot and approve it as the baseline that -c compares with.
import type { CommandModule } from 'yargs';
import { moveBaseline } from '../store/baseline.js';
import { lockRepository } from '../store/lock.js';
import { headCommit, openRepo } from '../store/repo.js';
import { context, scan, type GlobalArgs } from './context.js';
import { out, shortId } from './output.js';

interface Args extends GlobalArgs { message?: string; quiet?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'baseline',
  aliases: ['accept'],
  describe: 'scan now and approve the result as the baseline (LSM: lsm -g)',
  builder: (y) => y
    .option('message', { alias: 'm', type: 'string', describe: 'why this state is approved (kept in the baseline reflog)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print nothing' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const { change, snapshot } = await scan(ctx);
    const repo = openRepo(ctx.repoDir);
    const lock = await lockRepository(repo.gitdir);
    try {
      const head = (await headCommit(repo))!;
      const move = await moveBaseline(repo, head, argv.message ?? 'baseline approved with lsm -g');
      if (argv.quiet) return;
      const lines = [...snapshot.values()].reduce((n, l) => n + l.length, 0);
      if (change) out(`${shortId(change.commit)} ${change.summary}`);
      out(`baseline ${move.from === head ? 'unchanged at' : 'set to'} ${shortId(head)} (${lines} sockets in ${snapshot.size} files), approved by ${move.who}`);
    } finally {
      lock.release();
    }
  },
};
export default command;
