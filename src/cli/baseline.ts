// lsm baseline (LSM's -g): take a snapshot and approve it as the baseline that -c compares with.
import type { CommandModule } from 'yargs';
import { moveBaseline } from '../store/baseline.js';
import { lockRepository } from '../store/lock.js';
import { openRepo, readSnapshot, requireRepo, resolveRev } from '../store/repo.js';
import { context, scan, type GlobalArgs } from './context.js';
import { out, shortId } from './output.js';

interface Args extends GlobalArgs { rev?: string; message?: string; quiet?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'baseline [rev]',
  aliases: ['accept'],
  describe: 'scan now and approve the result as the baseline (LSM: lsm -g); with REV, approve that snapshot without scanning',
  builder: (y) => y
    .positional('rev', { type: 'string', describe: 'approve this recorded snapshot (HEAD, a commit id) instead of scanning' })
    .option('message', { alias: 'm', type: 'string', describe: 'why this state is approved (kept in the baseline reflog)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print nothing' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const scanned = argv.rev === undefined ? await scan(ctx) : null;
    const change = scanned?.change ?? null;
    const repo = argv.rev === undefined ? openRepo(ctx.repoDir) : requireRepo(ctx.repoDir);
    const target = await resolveRev(repo, argv.rev ?? 'HEAD');
    const lock = await lockRepository(repo.gitdir);
    try {
      const head = target;
      const move = await moveBaseline(repo, head, argv.message ?? 'baseline approved with lsm -g');
      if (argv.quiet) return;
      const snapshot = scanned?.snapshot ?? (await readSnapshot(repo, head));
      const lines = [...snapshot.values()].reduce((n, l) => n + l.length, 0);
      if (change) out(`${shortId(change.commit)} ${change.summary}`);
      out(`baseline ${move.from === head ? 'unchanged at' : 'set to'} ${shortId(head)} (${lines} sockets in ${snapshot.size} files), approved by ${move.who}`);
    } finally {
      lock.release();
    }
  },
};
export default command;
