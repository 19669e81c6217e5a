// lsm check (LSM's -c, what cron runs): scan, commit what changed, and report what differs from
// the approved baseline. Silent when nothing changed, so cron mails nothing.
import type { CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import { moveBaseline, readBaseline } from '../store/baseline.js';
import { lockRepository } from '../store/lock.js';
import { diffFiles } from '../store/history.js';
import { summarize } from '../store/changes.js';
import { headCommit, openRepo, treeFiles } from '../store/repo.js';
import { context, scan, type GlobalArgs } from './context.js';
import { out, printChange, shortId } from './output.js';

interface Args extends GlobalArgs { json?: boolean; 'exit-code'?: boolean; quiet?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'check',
  describe: 'scan, commit any change, and report drift from the baseline (LSM: lsm -c)',
  builder: (y) => y
    .option('json', { type: 'boolean', describe: 'print the change and the drift as JSON' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print nothing' })
    .option('exit-code', { type: 'boolean', describe: 'exit 3 when the state differs from the baseline' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const { change } = await scan(ctx);
    const repo = openRepo(ctx.repoDir);
    let baseline = await readBaseline(repo);
    const head = (await headCommit(repo))!;
    if (!baseline) {
      // LSM's first -c generates the base comparison file; so do we, and say so
      const lock = await lockRepository(repo.gitdir);
      try { await moveBaseline(repo, head, 'first lsm -c: no baseline yet'); } finally { lock.release(); }
      baseline = head;
      if (!argv.quiet) out(`no baseline yet: approved the current state (${shortId(head)}) as the baseline`);
    }
    const drift = baseline === head ? [] : await diffFiles(repo, await treeFiles(repo, baseline), await treeFiles(repo, head));
    if (argv.json) { if (!argv.quiet) out(JSON.stringify({ change, baseline, drift })); }
    else if (change && !argv.quiet) {
      printChange(change);
      if (drift.length) out(`drift from baseline ${shortId(baseline)}: ${summarize(drift)} (lsm diff baseline; approve with lsm -g)`);
    }
    if (drift.length && argv['exit-code']) process.exitCode = EXIT.CHANGED;
  },
};
export default command;
