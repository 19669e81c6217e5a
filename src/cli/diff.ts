// lsm diff [A] [B]: no revision: the last snapshot against the sockets now (nothing is committed);
// one: that revision against the last snapshot; two: A against B.
import type { CommandModule } from 'yargs';
import { snapshotFiles, unifiedDiff } from '../store/history.js';
import { requireRepo, resolveRev } from '../store/repo.js';
import { context, takeSnapshot, type GlobalArgs } from './context.js';
import { printPatch } from './output.js';

interface Args extends GlobalArgs { from?: string; to?: string; stat?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'diff [from] [to]',
  describe: 'diff two snapshots; with no revision, the last snapshot against now',
  builder: (y) => y
    .positional('from', { type: 'string', describe: 'older revision (commit id, HEAD~N, baseline)' })
    .positional('to', { type: 'string', describe: 'newer revision (default: HEAD; with no revision at all: the sockets now)' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const repo = requireRepo(ctx.repoDir);
    const before = await snapshotFiles(repo, await resolveRev(repo, argv.from ?? 'HEAD'));
    const after = argv.from === undefined ? takeSnapshot(ctx).snapshot
      : await snapshotFiles(repo, await resolveRev(repo, argv.to ?? 'HEAD'));
    const patch = unifiedDiff(before, after);
    if (patch) printPatch(patch);
  },
};
export default command;
