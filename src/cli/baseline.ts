// lsm baseline (LSM's -g): take a snapshot and approve it as the baseline that -c compares with.
import type { CommandModule } from 'yargs';
import { moveBaseline } from '../store/baseline.js';
import { lockRepository } from '../store/lock.js';
import { openRepo, readSnapshot, requireRepo, resolveRev } from '../store/repo.js';
import { context, scan, type GlobalArgs } from './context.js';
import { out, shortId } from './output.js';

export interface ApproveArgs extends GlobalArgs { rev?: string; message?: string; quiet?: boolean }

/** Approve REV (or HEAD); `scanFirst`: take a snapshot (and commit it) first, as lsm -g does. */
export async function approve(argv: ApproveArgs, scanFirst: boolean, why: string): Promise<void> {
  const ctx = context(argv);
  const scanned = scanFirst ? await scan(ctx) : null;
  const change = scanned?.change ?? null;
  const repo = scanFirst ? openRepo(ctx.repoDir) : requireRepo(ctx.repoDir);
  const head = await resolveRev(repo, argv.rev ?? 'HEAD');
  const lock = await lockRepository(repo.gitdir);
  try {
    const move = await moveBaseline(repo, head, argv.message ?? why);
    if (argv.quiet) return;
    const snapshot = scanned?.snapshot ?? (await readSnapshot(repo, head));
    const lines = [...snapshot.values()].reduce((n, l) => n + l.length, 0);
    if (change) out(`${shortId(change.commit)} ${change.summary}`);
    out(`baseline ${move.from === head ? 'unchanged at' : 'set to'} ${shortId(head)} (${lines} sockets in ${snapshot.size} files), approved by ${move.who}`);
    if (change?.parent === null && process.stdout.isTTY) (await import('./first-run.js')).sayFirstScan(change, ctx.repoDir, ctx.ownRepo, true);
  } finally {
    lock.release();
    // fleet: the approval reaches the server now (its drift column), not at the next scan
    if (ctx.loaded.config.remote) await (await import('../run/push.js')).pushFleet(ctx);
  }
}

const command: CommandModule<GlobalArgs, ApproveArgs> = {
  command: 'baseline [rev]',
  describe: 'scan now and approve the result as the baseline (LSM: lsm -g); with REV, approve that snapshot without scanning',
  builder: (y) => y
    .positional('rev', { type: 'string', describe: 'approve this recorded snapshot (HEAD, a commit id) instead of scanning' })
    .option('message', { alias: 'm', type: 'string', describe: 'why this state is approved (kept in the baseline reflog)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print nothing' }),
  handler: (argv) => approve(argv, argv.rev === undefined, 'baseline approved with lsm -g'),
};
export default command;
